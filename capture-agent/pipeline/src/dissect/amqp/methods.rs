//! AMQP 0-9-1's methods: their names, which replies a synchronous method waits for, which carry
//! content, and the arguments an entry shows, read from a method frame's payload.

use serde_json::json;
use shark_store::Message;

use super::codec::Reader;

/// One method of the protocol.
pub(super) struct Spec {
    /// Class id.
    pub class: u16,
    /// Method id within the class.
    pub id: u16,
    /// Name as the specification writes it: `basic.publish`, `queue.declare-ok`.
    pub name: &'static str,
    /// Ids (same class) of the methods that answer it; empty for asynchronous methods and replies.
    pub replies: &'static [u16],
    /// Whether a content header and body frames follow it.
    pub content: bool,
}

const fn spec(class: u16, id: u16, name: &'static str, replies: &'static [u16]) -> Spec {
    Spec {
        class,
        id,
        name,
        replies,
        content: false,
    }
}

const fn with_content(class: u16, id: u16, name: &'static str) -> Spec {
    Spec {
        class,
        id,
        name,
        replies: &[],
        content: true,
    }
}

/// The connection class.
pub(super) const CONNECTION: u16 = 10;
/// The channel class.
pub(super) const CHANNEL: u16 = 20;
/// `connection.close` and `channel.close`.
pub(super) const CLOSE: [(u16, u16); 2] = [(CONNECTION, 50), (CHANNEL, 40)];

/// Every method of AMQP 0-9-1 with RabbitMQ's extensions (exchange.bind, basic.nack, confirm).
static SPECS: &[Spec] = &[
    spec(10, 10, "connection.start", &[11]),
    spec(10, 11, "connection.start-ok", &[]),
    spec(10, 20, "connection.secure", &[21]),
    spec(10, 21, "connection.secure-ok", &[]),
    spec(10, 30, "connection.tune", &[31]),
    spec(10, 31, "connection.tune-ok", &[]),
    spec(10, 40, "connection.open", &[41]),
    spec(10, 41, "connection.open-ok", &[]),
    spec(10, 50, "connection.close", &[51]),
    spec(10, 51, "connection.close-ok", &[]),
    spec(10, 60, "connection.blocked", &[]),
    spec(10, 61, "connection.unblocked", &[]),
    spec(10, 70, "connection.update-secret", &[71]),
    spec(10, 71, "connection.update-secret-ok", &[]),
    spec(20, 10, "channel.open", &[11]),
    spec(20, 11, "channel.open-ok", &[]),
    spec(20, 20, "channel.flow", &[21]),
    spec(20, 21, "channel.flow-ok", &[]),
    spec(20, 40, "channel.close", &[41]),
    spec(20, 41, "channel.close-ok", &[]),
    spec(40, 10, "exchange.declare", &[11]),
    spec(40, 11, "exchange.declare-ok", &[]),
    spec(40, 20, "exchange.delete", &[21]),
    spec(40, 21, "exchange.delete-ok", &[]),
    spec(40, 30, "exchange.bind", &[31]),
    spec(40, 31, "exchange.bind-ok", &[]),
    spec(40, 40, "exchange.unbind", &[51]),
    spec(40, 51, "exchange.unbind-ok", &[]),
    spec(50, 10, "queue.declare", &[11]),
    spec(50, 11, "queue.declare-ok", &[]),
    spec(50, 20, "queue.bind", &[21]),
    spec(50, 21, "queue.bind-ok", &[]),
    spec(50, 30, "queue.purge", &[31]),
    spec(50, 31, "queue.purge-ok", &[]),
    spec(50, 40, "queue.delete", &[41]),
    spec(50, 41, "queue.delete-ok", &[]),
    spec(50, 50, "queue.unbind", &[51]),
    spec(50, 51, "queue.unbind-ok", &[]),
    spec(60, 10, "basic.qos", &[11]),
    spec(60, 11, "basic.qos-ok", &[]),
    spec(60, 20, "basic.consume", &[21]),
    spec(60, 21, "basic.consume-ok", &[]),
    spec(60, 30, "basic.cancel", &[31]),
    spec(60, 31, "basic.cancel-ok", &[]),
    with_content(60, 40, "basic.publish"),
    with_content(60, 50, "basic.return"),
    with_content(60, 60, "basic.deliver"),
    spec(60, 70, "basic.get", &[71, 72]),
    with_content(60, 71, "basic.get-ok"),
    spec(60, 72, "basic.get-empty", &[]),
    spec(60, 80, "basic.ack", &[]),
    spec(60, 90, "basic.reject", &[]),
    spec(60, 100, "basic.recover-async", &[]),
    spec(60, 110, "basic.recover", &[111]),
    spec(60, 111, "basic.recover-ok", &[]),
    spec(60, 120, "basic.nack", &[]),
    spec(85, 10, "confirm.select", &[11]),
    spec(85, 11, "confirm.select-ok", &[]),
    spec(90, 10, "tx.select", &[11]),
    spec(90, 11, "tx.select-ok", &[]),
    spec(90, 20, "tx.commit", &[21]),
    spec(90, 21, "tx.commit-ok", &[]),
    spec(90, 30, "tx.rollback", &[31]),
    spec(90, 31, "tx.rollback-ok", &[]),
];

/// The method `class`.`id`, if the protocol has it.
pub(super) fn lookup(class: u16, id: u16) -> Option<&'static Spec> {
    SPECS.iter().find(|s| s.class == class && s.id == id)
}

/// Whether `spec` answers another method (`queue.declare-ok`, `basic.get-empty`).
pub(super) fn is_reply(spec: &Spec) -> bool {
    SPECS
        .iter()
        .any(|s| s.class == spec.class && s.replies.contains(&spec.id))
}

/// Whether `class` is a class of the protocol.
pub(super) fn known_class(class: u16) -> bool {
    SPECS.iter().any(|s| s.class == class)
}

/// What a method frame says, beyond which method it is.
#[derive(Default)]
pub(super) struct Args {
    /// The fields an entry shows (`exchange`, `routingKey`, `queue`, …).
    pub fields: Message,
    /// The no-wait bit was set: the server will not answer.
    pub no_wait: bool,
    /// Reply code and text of a close (`connection.close`, `channel.close`, `basic.return`).
    pub reply: Option<(u16, String)>,
}

/// Reads the arguments of `spec` from `args`; what cannot be read is left out.
pub(super) fn read_args(spec: &Spec, args: &[u8]) -> Args {
    let mut out = Args::default();
    let _ = read_into(spec, &mut Reader::new(args), &mut out);
    out
}

/// Bit `n` (0 the lowest) of a packed octet.
fn bit(octet: u8, n: u8) -> bool {
    octet & (1 << n) != 0
}

fn read_into(spec: &Spec, r: &mut Reader<'_>, out: &mut Args) -> Option<()> {
    let f = &mut out.fields;
    let mut put = |key: &str, value: serde_json::Value| {
        f.insert(key.into(), value);
    };
    match (spec.class, spec.id) {
        (10, 10) => {
            let (major, minor) = (r.u8()?, r.u8()?);
            put("version", json!(format!("{major}-{minor}")));
            if let Some(product) = r.table()?.get("product") {
                put("product", product.clone());
            }
        }
        (10, 11) => {
            if let Some(product) = r.table()?.get("product") {
                put("product", product.clone());
            }
            put("mechanism", json!(r.short_str()?));
        }
        (10, 40) => put("vhost", json!(r.short_str()?)),
        (10, 50) | (20, 40) => {
            let code = r.u16()?;
            let text = r.short_str()?;
            put("replyCode", json!(code));
            put("replyText", json!(text));
            out.reply = Some((code, text));
        }
        (40, 10) => {
            r.u16()?;
            put("exchange", json!(r.short_str()?));
            put("type", json!(r.short_str()?));
            out.no_wait = bit(r.u8()?, 4);
        }
        (40, 20) => {
            r.u16()?;
            put("exchange", json!(r.short_str()?));
            out.no_wait = bit(r.u8()?, 1);
        }
        (40, 30) | (40, 40) => {
            r.u16()?;
            put("exchange", json!(r.short_str()?));
            put("source", json!(r.short_str()?));
            put("routingKey", json!(r.short_str()?));
            out.no_wait = bit(r.u8()?, 0);
        }
        (50, 10) => {
            r.u16()?;
            put("queue", json!(r.short_str()?));
            out.no_wait = bit(r.u8()?, 4);
        }
        (50, 11) => {
            put("queue", json!(r.short_str()?));
            put("messageCount", json!(r.u32()?));
            put("consumerCount", json!(r.u32()?));
        }
        (50, 20) | (50, 50) => {
            r.u16()?;
            put("queue", json!(r.short_str()?));
            put("exchange", json!(r.short_str()?));
            put("routingKey", json!(r.short_str()?));
            if spec.id == 20 {
                out.no_wait = bit(r.u8()?, 0);
            }
        }
        (50, 30) | (50, 40) => {
            r.u16()?;
            put("queue", json!(r.short_str()?));
            out.no_wait = bit(r.u8()?, if spec.id == 30 { 0 } else { 2 });
        }
        (50, 31) | (50, 41) => put("messageCount", json!(r.u32()?)),
        (60, 20) => {
            r.u16()?;
            put("queue", json!(r.short_str()?));
            put("consumerTag", json!(r.short_str()?));
            out.no_wait = bit(r.u8()?, 3);
        }
        (60, 21) | (60, 31) => put("consumerTag", json!(r.short_str()?)),
        (60, 30) => {
            put("consumerTag", json!(r.short_str()?));
            out.no_wait = bit(r.u8()?, 0);
        }
        (60, 40) => {
            r.u16()?;
            put("exchange", json!(r.short_str()?));
            put("routingKey", json!(r.short_str()?));
        }
        (60, 50) => {
            let code = r.u16()?;
            let text = r.short_str()?;
            put("replyCode", json!(code));
            put("replyText", json!(text));
            out.reply = Some((code, text));
            put("exchange", json!(r.short_str()?));
            put("routingKey", json!(r.short_str()?));
        }
        (60, 60) => {
            put("consumerTag", json!(r.short_str()?));
            put("deliveryTag", json!(r.u64()?));
            put("redelivered", json!(bit(r.u8()?, 0)));
            put("exchange", json!(r.short_str()?));
            put("routingKey", json!(r.short_str()?));
        }
        (60, 70) => {
            r.u16()?;
            put("queue", json!(r.short_str()?));
        }
        (60, 71) => {
            put("deliveryTag", json!(r.u64()?));
            put("redelivered", json!(bit(r.u8()?, 0)));
            put("exchange", json!(r.short_str()?));
            put("routingKey", json!(r.short_str()?));
            put("messageCount", json!(r.u32()?));
        }
        (60, 80) | (60, 90) | (60, 120) => {
            put("deliveryTag", json!(r.u64()?));
            let bits = r.u8()?;
            match spec.id {
                80 => put("multiple", json!(bit(bits, 0))),
                90 => put("requeue", json!(bit(bits, 0))),
                _ => {
                    put("multiple", json!(bit(bits, 0)));
                    put("requeue", json!(bit(bits, 1)));
                }
            }
        }
        (85, 10) => out.no_wait = bit(r.u8()?, 0),
        _ => {}
    }
    Some(())
}

/// Names of the basic properties, in the order of their flag bits (bit 15 first).
const PROPERTIES: [&str; 14] = [
    "contentType",
    "contentEncoding",
    "headers",
    "deliveryMode",
    "priority",
    "correlationId",
    "replyTo",
    "expiration",
    "messageId",
    "timestamp",
    "type",
    "userId",
    "appId",
    "clusterId",
];

/// A content header's payload: the body size it announces and its properties (for classes
/// other than basic, none are read).
pub(super) fn content_header(
    payload: &[u8],
) -> Option<(u64, serde_json::Map<String, serde_json::Value>)> {
    let mut r = Reader::new(payload);
    let class = r.u16()?;
    r.u16()?;
    let body_size = r.u64()?;
    let mut properties = serde_json::Map::new();
    if class != 60 {
        return Some((body_size, properties));
    }
    let flags = r.u16()?;
    for (n, name) in PROPERTIES.iter().enumerate() {
        if flags & (0x8000 >> n) == 0 {
            continue;
        }
        let value = match *name {
            "headers" => r.table(),
            "deliveryMode" | "priority" => r.u8().map(|v| json!(v)),
            "timestamp" => r.u64().map(|v| json!(v)),
            _ => r.short_str().map(|v| json!(v)),
        };
        // A property that cannot be read ends the reading; those before it are kept.
        let Some(value) = value else {
            break;
        };
        properties.insert((*name).into(), value);
    }
    Some((body_size, properties))
}
