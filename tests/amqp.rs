//! AMQP 0-9-1 against a real broker: Debian's rabbitmq-server and a pika client
//! (`tests/protocols/amqp_client.py`: declarations, publishes with properties, basic.get, a
//! consumer acking and nacking, a channel closed with 404) in two network namespaces, captured,
//! imported, and compared with tshark's `amqp.*` reading of the same capture. The broker starts
//! once for every test here (it takes seconds).

use std::sync::OnceLock;

use crate::pair::{Captured, SERVER};
use crate::util::{counted, entry_bytes, query_json, run_ok, tcp_payload_bytes, text, workspace};

/// The capture of the client's session, made once.
fn session() -> &'static Captured {
    static SESSION: OnceLock<Captured> = OnceLock::new();
    SESSION.get_or_init(|| {
        Captured::make("amqp", "mq", |pair, dir, pcap| {
            run_ok(pair.script("rabbitmq.sh").arg(dir));
            pair.capture(5672, pcap, || {
                let client = workspace().join("tests/protocols/amqp_client.py");
                let r = run_ok(pair.exec("cli", "/usr/bin/python3").arg(client).arg(SERVER));
                assert!(r.stdout.ends_with("done\n"), "client: {}", r.stdout);
            });
        })
    })
}

/// tshark's fields of every AMQP frame (one row per packet, occurrences joined by commas).
fn tshark_rows(fields: &[&str]) -> Vec<Vec<String>> {
    session().tshark_fields(&["-Y", "amqp", "-E", "occurrence=a"], fields)
}

/// The AMQP entries, in the store's order.
fn entries(filter: &str) -> Vec<serde_json::Value> {
    query_json(&session().store, &[filter])
}

#[test]
fn every_method_tshark_decodes_is_in_an_entry() {
    // tshark's Info column names each method `Class.Method-Name`; ours are the same in lower case.
    // (A method after a JSON body follows its `(application/json)` without a space.)
    let tshark_methods = tshark_rows(&["_ws.col.Info"])
        .into_iter()
        .flat_map(|row| {
            row.join(" ")
                .split(|c: char| c.is_whitespace() || c == ')')
                .filter(|w| w.contains('.') && w.starts_with(|c: char| c.is_ascii_uppercase()))
                .map(str::to_lowercase)
                .collect::<Vec<_>>()
        })
        .collect::<Vec<_>>();
    assert!(tshark_methods.len() > 30, "{tshark_methods:?}");
    let entries = entries("amqp");
    let ours = entries.iter().flat_map(|e| {
        [&e["request"]["method"], &e["response"]["method"]]
            .into_iter()
            .map(text)
            .filter(|m| !m.is_empty())
            .collect::<Vec<_>>()
    });
    // The close that answered the failed declaration is also the close's own request: once each.
    let mut ours = counted(ours);
    if let Some(n) = ours.get_mut("channel.close") {
        *n -= 1;
    }
    assert_eq!(ours, counted(tshark_methods));
    assert!(
        entries.iter().all(|e| e["error"].is_null()),
        "no entry failed"
    );
}

#[test]
fn messages_carry_the_exchange_routing_key_and_body_tshark_reads() {
    // Methods with content, in frame order: class 60 method 40 (publish), 60 (deliver), 71
    // (get-ok); each body (here one frame each) follows its method, in a later packet or the same.
    let mut theirs: Vec<(String, String, String, String)> = Vec::new();
    let mut bodies = Vec::new();
    for row in tshark_rows(&[
        "amqp.method.class",
        "amqp.method.method",
        "amqp.method.arguments.exchange",
        "amqp.method.arguments.routing_key",
        "amqp.payload",
    ]) {
        let list = |i: usize| -> Vec<String> {
            row.get(i)
                .filter(|s| !s.is_empty())
                .map(|s| s.split(',').map(str::to_string).collect())
                .unwrap_or_default()
        };
        let (classes, methods, exchanges, keys) = (list(0), list(1), list(2), list(3));
        let content =
            classes
                .iter()
                .zip(&methods)
                .filter_map(|(c, m)| match (c.as_str(), m.as_str()) {
                    ("60", "40") => Some("basic.publish"),
                    ("60", "60") => Some("basic.deliver"),
                    ("60", "71") => Some("basic.get-ok"),
                    _ => None,
                });
        for (i, method) in content.enumerate() {
            theirs.push((
                method.to_string(),
                exchanges.get(i).cloned().unwrap_or_default(),
                keys.get(i).cloned().unwrap_or_default(),
                String::new(),
            ));
        }
        bodies.extend(list(4));
    }
    for (message, hex) in theirs.iter_mut().zip(bodies) {
        let bytes = (0..hex.len() / 2)
            .map(|j| u8::from_str_radix(&hex[2 * j..2 * j + 2], 16).expect("hex"))
            .collect::<Vec<u8>>();
        message.3 = String::from_utf8(bytes).expect("text bodies");
    }
    assert_eq!(
        theirs.len(),
        6,
        "3 published, 1 got, 2 delivered: {theirs:?}"
    );
    let mut ours = Vec::new();
    for e in entries("amqp") {
        for side in ["request", "response"] {
            let m = &e[side];
            if matches!(
                text(&m["method"]).as_str(),
                "basic.publish" | "basic.deliver" | "basic.get-ok"
            ) {
                ours.push((
                    text(&m["method"]),
                    text(&m["exchange"]),
                    text(&m["routingKey"]),
                    text(&m["body"]),
                ));
            }
        }
    }
    theirs.sort();
    ours.sort();
    assert_eq!(ours, theirs);
}

#[test]
fn a_publish_keeps_its_properties_and_a_get_its_message() {
    let published = entries(
        r#"amqp and request.method == "basic.publish" and request.properties.correlationId == "c-42""#,
    );
    assert_eq!(published.len(), 1);
    let request = &published[0]["request"];
    assert_eq!(
        request["properties"],
        serde_json::json!({"contentType": "application/json", "deliveryMode": 2, "correlationId": "c-42",
            "messageId": "m-1", "headers": {"tenant": "acme"}})
    );
    assert_eq!(
        (text(&request["bodySize"]), text(&request["channel"])),
        ("22".into(), "1".into())
    );
    let got =
        entries(r#"amqp and request.method == "basic.get" and response.method == "basic.get-ok""#);
    assert_eq!(got.len(), 1);
    assert_eq!(text(&got[0]["request"]["queue"]), "orders.new");
    assert_eq!(
        text(&got[0]["response"]["body"]),
        r#"{"id":1,"item":"book"}"#
    );
    assert_eq!(
        text(&got[0]["response"]["properties"]["correlationId"]),
        "c-42"
    );
    let empty = entries(r#"amqp and response.method == "basic.get-empty""#);
    assert_eq!(empty.len(), 1);
    // KFL2's names read the same fields.
    assert_eq!(entries(r#"amqp_method == "basic.publish""#).len(), 3);
    assert_eq!(
        entries(r#"amqp_method == "basic.get" && amqp_response_length > 100"#).len(),
        1,
        "the get-ok"
    );
    let acks = entries(r#"amqp and request.method == "basic.ack""#);
    let nacks = entries(r#"amqp and request.method == "basic.nack" and request.requeue == false"#);
    assert_eq!((acks.len(), nacks.len()), (2, 1));
}

#[test]
fn a_channel_closed_with_a_code_fails_the_method_it_answers() {
    let rows = tshark_rows(&[
        "amqp.method.class",
        "amqp.method.method",
        "amqp.method.arguments.reply_code",
        "amqp.method.arguments.reply_text",
    ]);
    let closes: Vec<_> = rows
        .iter()
        .filter(|row| row.get(2).is_some_and(|code| !code.is_empty()))
        .map(|row| (row[0].clone(), row[2].clone(), row[3].clone()))
        .collect();
    let channel_close = closes
        .iter()
        .find(|(class, _, _)| class == "20")
        .expect("tshark sees channel.close");
    assert_eq!(channel_close.1, "404");
    let failed = entries("amqp and response.status == 404");
    assert_eq!(failed.len(), 1, "{failed:?}");
    let failed = &failed[0];
    assert_eq!(text(&failed["request"]["method"]), "queue.declare");
    assert_eq!(text(&failed["request"]["queue"]), "no.such.queue");
    assert_eq!(text(&failed["response"]["statusText"]), channel_close.2);
    let close = entries(r#"amqp and request.method == "channel.close""#);
    assert_eq!(close.len(), 1);
    assert_eq!(
        (
            text(&close[0]["request"]["replyCode"]),
            text(&close[0]["response"]["method"])
        ),
        ("404".to_string(), "channel.close-ok".to_string())
    );
    let connection_close = closes
        .iter()
        .find(|(class, _, _)| class == "10")
        .expect("connection.close");
    let ours = entries(r#"amqp and request.method == "connection.close""#);
    assert_eq!(text(&ours[0]["request"]["replyCode"]), connection_close.1);
}

#[test]
fn entries_count_every_frame_byte_tshark_sees() {
    let all_payload = tcp_payload_bytes(&session().pcap);
    assert!(all_payload > 1000);
    let ours = entry_bytes(&entries("amqp"));
    // Every byte but the 8-byte protocol header that opens the connection (no heartbeats here).
    assert_eq!(ours, all_payload - 8);
}

#[test]
fn every_field_of_the_entries_is_listed_and_the_table_names_method_target_and_code() {
    crate::fields::assert_every_field_listed(&entries("amqp"));
    let table = run_ok(
        crate::util::shark()
            .args(["query", "--store"])
            .arg(&session().store)
            .arg("amqp"),
    )
    .stdout;
    let line = |needle: &str| crate::fields::table_row(&table, needle);
    assert!(line("basic.publish").contains("orders → new"), "{table}");
    assert!(line("no.such.queue").contains("404 NOT_FOUND"), "{table}");
    assert!(line("queue.bind").contains("OK"), "{table}");
}
