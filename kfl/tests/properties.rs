//! Property tests: printing then parsing a syntax tree gives the same tree; the planner's split
//! `(index and residual)` selects exactly what the whole filter selects; a printed filter means
//! what the original meant; nothing panics on arbitrary input.

mod common;

use kfl::ast::{BinaryOp, CompareOp, Expr, Key, Literal, Node, UnaryOp};
use kfl::span::Span;
use proptest::prelude::*;
use serde_json::{Map, Value as Json, json};

use common::{INDEX, JsonRecord, NOW, entry_schema};

// ---------- syntax trees ----------

fn node(expr: Expr) -> Node<Expr> {
    Node::new(Span::default(), expr)
}

fn boxed(expr: Expr) -> Box<Node<Expr>> {
    Box::new(node(expr))
}

fn name() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "src",
        "dst",
        "name",
        "request",
        "headers",
        "timestamp",
        "x",
        "_y",
        "a1",
        "http",
    ])
    .prop_map(str::to_string)
}

fn literal() -> impl Strategy<Value = Literal> {
    prop_oneof![
        "\\PC{0,6}".prop_map(Literal::Str),
        prop::collection::vec(
            prop::sample::select(vec!['"', '\\', '\n', '\t', '\u{1}', 'é', 'a']),
            0..4
        )
        .prop_map(|chars| Literal::Str(chars.into_iter().collect())),
        "[a-z.*+?|()]{0,6}".prop_map(Literal::Regex),
        (0i64..=i64::MAX).prop_map(Literal::Int),
        (0.0f64..1e12).prop_map(Literal::Float),
        (0u32..1000).prop_map(|n| Literal::Float(f64::from(n))),
        any::<bool>().prop_map(Literal::Bool),
        Just(Literal::Nil),
        (0i64..1_000_000_000_000_000).prop_map(Literal::Duration),
    ]
}

fn expr() -> impl Strategy<Value = Expr> {
    let leaf = prop_oneof![
        literal().prop_map(Expr::Literal),
        name().prop_map(Expr::Ident)
    ];
    leaf.prop_recursive(4, 48, 3, |inner| {
        let args = prop::collection::vec(inner.clone().prop_map(node), 0..3);
        prop_oneof![
            (inner.clone(), name()).prop_map(|(base, name)| Expr::Field {
                base: boxed(base),
                name: node_of(name)
            }),
            (
                inner.clone(),
                prop_oneof![
                    "\\PC{0,4}".prop_map(Key::Name),
                    (0i64..100).prop_map(Key::Position)
                ]
            )
                .prop_map(|(base, key)| Expr::Index {
                    base: boxed(base),
                    key: node_of(key)
                }),
            (name(), args.clone()).prop_map(|(name, args)| Expr::Call {
                name: node_of(name),
                args
            }),
            (inner.clone(), name(), args.clone()).prop_map(|(receiver, name, args)| Expr::Method {
                receiver: boxed(receiver),
                name: node_of(name),
                args
            }),
            (
                prop::sample::select(vec![UnaryOp::Not, UnaryOp::Neg]),
                inner.clone()
            )
                .prop_map(|(op, operand)| Expr::Unary {
                    op: node_of(op),
                    operand: boxed(operand)
                }),
            (
                prop::sample::select(vec![
                    BinaryOp::And,
                    BinaryOp::Or,
                    BinaryOp::Add,
                    BinaryOp::Sub
                ]),
                inner.clone(),
                inner.clone()
            )
                .prop_map(|(op, lhs, rhs)| Expr::Binary {
                    op: node_of(op),
                    lhs: boxed(lhs),
                    rhs: boxed(rhs)
                }),
            (
                prop::sample::select(vec![
                    CompareOp::Eq,
                    CompareOp::Ne,
                    CompareOp::Lt,
                    CompareOp::Le,
                    CompareOp::Gt,
                    CompareOp::Ge,
                    CompareOp::In
                ]),
                inner.clone(),
                inner
            )
                .prop_map(|(op, lhs, rhs)| Expr::Compare {
                    op: node_of(op),
                    lhs: boxed(lhs),
                    rhs: boxed(rhs)
                }),
            args.prop_map(Expr::List),
        ]
    })
}

fn node_of<T>(value: T) -> Node<T> {
    Node::new(Span::default(), value)
}

// ---------- valid filters over the entry schema, and entries ----------

const NAMES: [&str; 4] = ["web", "api", "checkout", ""];
const NAMESPACES: [&str; 3] = ["ns1", "ns2", "kube-system"];
const PROTOCOLS: [(&str, Option<&str>); 6] = [
    ("http", Some("1.1")),
    ("http", Some("1.0")),
    ("http", Some("2")),
    ("grpc", Some("2")),
    ("dns", None),
    ("redis", None),
];
const METHODS: [&str; 3] = ["GET", "POST", "DELETE"];
const STATUSES: [i64; 5] = [0, 200, 201, 404, 503];
const PORTS: [i64; 3] = [80, 443, 8080];
const PATHS: [&str; 3] = ["/", "/v1/cars/9", "/example"];
/// 2026-03-14T22:00:00Z plus 0, 30 or 60 minutes.
const TIMES: [&str; 3] = [
    "2026-03-14T22:00:00Z",
    "2026-03-14T22:30:00Z",
    "2026-03-14T23:00:00Z",
];

fn quoted(text: &str) -> String {
    format!("{text:?}")
}

fn comparison_op() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec!["==", "!=", "<", "<=", ">", ">="])
}

fn atom() -> impl Strategy<Value = String> {
    let text_field = prop::sample::select(vec![
        "src.name",
        "dst.name",
        "src.namespace",
        "dst.namespace",
        "node.name",
    ]);
    let text_value = prop::sample::select([NAMES.as_slice(), NAMESPACES.as_slice()].concat());
    prop_oneof![
        (text_field.clone(), comparison_op(), text_value.clone())
            .prop_map(|(f, op, v)| format!("{f} {op} {}", quoted(v))),
        (text_field.clone(), prop::collection::vec(text_value, 0..3)).prop_map(|(f, values)| {
            format!(
                "{f} in [{}]",
                values
                    .iter()
                    .map(|v| quoted(v))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }),
        (text_field, "[a-z]{0,2}").prop_map(|(f, re)| format!("{f} == r\"{re}.*\"")),
        (
            prop::sample::select(vec!["src.port", "dst.port"]),
            comparison_op(),
            prop::sample::select(PORTS.to_vec())
        )
            .prop_map(|(f, op, v)| format!("{f} {op} {v}")),
        (comparison_op(), prop::sample::select(STATUSES.to_vec()))
            .prop_map(|(op, v)| format!("response.status {op} {v}")),
        (comparison_op(), prop::sample::select(STATUSES.to_vec()))
            .prop_map(|(op, v)| format!("response.status {op} \"{v}\"")),
        prop::sample::select(vec!["4", "2", "5", "[02]"])
            .prop_map(|re| format!("response.status == r\"{re}.*\"")),
        (comparison_op(), prop::sample::select(METHODS.to_vec()))
            .prop_map(|(op, v)| format!("request.method {op} {}", quoted(v))),
        prop::sample::select(vec![
            "http", "http1", "http2", "grpc", "dns", "redis", "tcp"
        ])
        .prop_map(str::to_string),
        (comparison_op(), prop::sample::select(TIMES.to_vec()))
            .prop_map(|(op, t)| format!("timestamp {op} datetime(\"{t}\")")),
        (comparison_op(), 0i64..90)
            .prop_map(|(op, minutes)| format!("timestamp {op} now() - {minutes}m")),
        (comparison_op(), prop::sample::select(PATHS.to_vec()))
            .prop_map(|(op, p)| format!("request.path {op} {}", quoted(p))),
        prop::sample::select(vec!["/v", "/e", "/"])
            .prop_map(|p| format!("request.path.startsWith({})", quoted(p))),
        (comparison_op(), 0u32..20).prop_map(|(op, ms)| format!("elapsedTime {op} {ms}.5")),
        prop::sample::select(vec![
            "error != nil",
            "error == nil",
            "response == nil",
            "true",
            "false"
        ])
        .prop_map(str::to_string),
    ]
}

fn filter() -> impl Strategy<Value = String> {
    atom().prop_recursive(3, 16, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("{a} and {b}")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a} or {b})")),
            inner.clone().prop_map(|a| format!("not ({a})")),
            inner.prop_map(|a| format!("({a})")),
        ]
    })
}

fn maybe<T: Strategy>(strategy: T) -> impl Strategy<Value = Option<T::Value>> {
    prop::option::weighted(0.8, strategy)
}

fn endpoint() -> impl Strategy<Value = Json> {
    (
        maybe(prop::sample::select(NAMES.to_vec())),
        maybe(prop::sample::select(NAMESPACES.to_vec())),
        maybe(prop::sample::select(PORTS.to_vec())),
    )
        .prop_map(|(name, namespace, port)| {
            let mut map = Map::new();
            name.map(|v| map.insert("name".into(), json!(v)));
            namespace.map(|v| map.insert("namespace".into(), json!(v)));
            port.map(|v| map.insert("port".into(), json!(v)));
            Json::Object(map)
        })
}

fn entry() -> impl Strategy<Value = Json> {
    (
        (
            maybe(0i64..7_200),
            maybe(0.0f64..20.0),
            maybe(prop::sample::select(NAMES.to_vec())),
        ),
        (endpoint(), endpoint()),
        maybe(prop::sample::select(PROTOCOLS.to_vec())),
        (
            maybe(prop::sample::select(METHODS.to_vec())),
            maybe(prop::sample::select(PATHS.to_vec())),
        ),
        (
            maybe(prop::sample::select(STATUSES.to_vec())),
            any::<bool>(),
        ),
        maybe(Just("timeout")),
    )
        .prop_map(
            |(
                (offset, elapsed, node),
                (src, dst),
                protocol,
                (method, path),
                (status, has_response),
                error,
            )| {
                let mut entry = Map::new();
                // Seconds after 2026-03-14T21:30:00Z (NOW is 23:00), so entries fall on both sides of TIMES.
                offset.map(|s| {
                    entry.insert(
                        "timestamp".into(),
                        json!(NOW - 5_400_000_000_000 + s * 1_000_000_000),
                    )
                });
                elapsed.map(|v| entry.insert("elapsedTime".into(), json!(v)));
                node.map(|v| entry.insert("node".into(), json!({ "name": v })));
                entry.insert("src".into(), src);
                entry.insert("dst".into(), dst);
                if let Some((name, version)) = protocol {
                    let mut p = Map::new();
                    p.insert("name".into(), json!(name));
                    version.map(|v| p.insert("version".into(), json!(v)));
                    entry.insert("protocol".into(), Json::Object(p));
                }
                let mut request = Map::new();
                method.map(|v| request.insert("method".into(), json!(v)));
                path.map(|v| request.insert("path".into(), json!(v)));
                entry.insert("request".into(), Json::Object(request));
                if has_response {
                    let mut response = Map::new();
                    status.map(|v| response.insert("status".into(), json!(v)));
                    entry.insert("response".into(), Json::Object(response));
                }
                error.map(|v| entry.insert("error".into(), json!(v)));
                Json::Object(entry)
            },
        )
}

fn timestamp_of(entry: &Json) -> Option<i64> {
    entry.get("timestamp").and_then(Json::as_i64)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn printing_then_parsing_gives_the_same_tree(tree in expr()) {
        let printed = tree.to_string();
        let parsed = kfl::parse::parse(&printed);
        prop_assert!(parsed.is_ok(), "`{}` does not parse: {:?}", printed, parsed.err());
        if let Ok(parsed) = parsed {
            prop_assert_eq!(&parsed.node, &tree, "printed as `{}`", printed);
        }
    }

    #[test]
    fn index_and_residual_select_what_the_filter_selects(
        source in filter(),
        entries in prop::collection::vec(entry(), 16),
    ) {
        let schema = entry_schema();
        let compiled = kfl::compile_at(&source, &schema, NOW);
        prop_assert!(compiled.is_ok(), "`{}` does not compile:\n{}", source, compiled.as_ref().err().map(ToString::to_string).unwrap_or_default());
        let Ok(filter) = compiled else { return Ok(()) };
        let plan = filter.plan(&INDEX);
        let reprinted = kfl::compile_at(&filter.to_string(), &schema, NOW);
        prop_assert!(reprinted.is_ok(), "canonical `{}` does not compile", filter);
        let Ok(reprinted) = reprinted else { return Ok(()) };
        let (from, to) = plan.index.time_range();
        for json in entries {
            let record = JsonRecord { json: json.clone(), root: &schema.root };
            let full = filter.matches(&record);
            let split = plan.index.matches(&record)
                && plan.residual.as_ref().is_none_or(|residual| residual.matches(&record));
            prop_assert_eq!(full, split, "filter `{}`\nplan:\n{}\nentry {}", source, plan, json);
            prop_assert_eq!(full, reprinted.matches(&record), "`{}` reprinted as `{}` disagrees on {}", source, filter, json);
            if full {
                let t = timestamp_of(&json);
                prop_assert!(from.is_none() || t.is_some_and(|t| Some(t) >= from), "{} before range {:?} for `{}`", json, from, source);
                prop_assert!(to.is_none() || t.is_some_and(|t| Some(t) <= to), "{} after range {:?} for `{}`", json, to, source);
            }
        }
    }

    #[test]
    fn compiling_arbitrary_text_never_panics(source in "\\PC{0,40}") {
        let schema = entry_schema();
        if let Err(diagnostics) = kfl::compile_at(&source, &schema, NOW) {
            prop_assert!(!diagnostics.codes().is_empty());
            prop_assert!(diagnostics.to_string().starts_with("error["));
        }
    }

    #[test]
    fn compiling_near_miss_filters_never_panics(source in filter(), cut in 0usize..200, insert in "[\\[\\](). \"r!=<>a-z0-9]{0,3}") {
        let schema = entry_schema();
        let cut = (0..=cut.min(source.len())).rev().find(|&i| source.is_char_boundary(i)).unwrap_or(0);
        let mangled = format!("{}{}{}", &source[..cut], insert, &source[cut..]);
        let _ = kfl::compile_at(&mangled, &schema, NOW);
    }
}
