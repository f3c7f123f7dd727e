//! MySQL dissector over the payloads of a real MariaDB capture (`data/mysql/mariadb.seg`, made by
//! `tests/protocols/mysql.sh`); the expected rows are tshark's dissection of the same capture
//! (`tshark -r F -Y mysql -T fields -e mysql.command -e mysql.query -e mysql.user -e
//! mysql.schema -e mysql.error_code -e mysql.affected_rows -e mysql.num_fields -e
//! mysql.field.name -e mysql.stmt_id`), one exchange per login and per command; the row counts
//! are the data the script inserted.

use std::collections::HashMap;

use crate::segments::{field, load, run_all_chunkings};
use shark_pipeline::dissect::mysql::MysqlDissector;
use shark_pipeline::dissect::{ChunkMeta, Dissector, Exchange, Parser, ParserSettings, Unfinished};

/// command, query (or user/database of a login), statement id, status, affected rows, columns,
/// rows, first and last frame.
fn summary(e: &Exchange) -> String {
    let req = |k| field(&e.request, k);
    let resp = |k| field(&e.response, k);
    let object = match req("command").as_str() {
        "HANDSHAKE" => format!("{}@{}", req("user"), req("database")),
        "COM_INIT_DB" => req("database"),
        _ => req("query"),
    };
    format!(
        "{} {} id={} status={} affected={} columns={} rows={} frames={}-{}",
        req("command"),
        object,
        req("statementId"),
        resp("status"),
        resp("affectedRows"),
        resp("columns"),
        resp("rows"),
        e.start.map_or(0, |m| m.packet),
        e.end.map_or(0, |m| m.packet),
    )
}

#[test]
fn a_mariadb_session_gives_what_tshark_finds() {
    let exchanges = run_all_chunkings(&MysqlDissector, "mysql/mariadb.seg");
    let got: Vec<String> = exchanges.iter().map(summary).collect();
    let want = [
        "HANDSHAKE admin@ id= status=0 affected= columns= rows= frames=4-8",
        "COM_QUERY CREATE DATABASE shop id= status=0 affected=1 columns= rows= frames=9-10",
        "COM_QUERY SELECT DATABASE() id= status=0 affected= columns=DATABASE() rows=1 frames=11-12",
        "COM_INIT_DB shop id= status=0 affected=0 columns= rows= frames=13-14",
        "COM_QUERY CREATE TABLE orders (id INT PRIMARY KEY, item VARCHAR(20), qty INT) id= status=0 affected=0 columns= rows= frames=15-16",
        "COM_QUERY INSERT INTO orders VALUES (1, 'book', 2), (2, 'pen', 10), (3, 'lamp', 1) id= status=0 affected=3 columns= rows= frames=17-18",
        "COM_QUERY SELECT id, item, qty FROM orders ORDER BY id id= status=0 affected= columns=id,item,qty rows=3 frames=19-20",
        "COM_QUERY SELEC broken id= status=1064 affected= columns= rows= frames=21-22",
        "COM_QUIT  id= status= affected= columns= rows= frames=23-23",
        "HANDSHAKE admin@shop id= status=0 affected= columns= rows= frames=30-34",
        "COM_QUERY SELECT * FROM missing_table id= status=1146 affected= columns= rows= frames=35-36",
        "COM_QUIT  id= status= affected= columns= rows= frames=37-37",
        "HANDSHAKE checkout@shop id= status=0 affected= columns= rows= frames=44-48",
        "COM_QUERY UPDATE orders SET qty = qty + 1 WHERE id < 3 id= status=0 affected=2 columns= rows= frames=49-50",
        "COM_QUERY SELECT item FROM orders WHERE qty > 100 id= status=0 affected= columns=item rows=0 frames=51-52",
        "COM_QUIT  id= status= affected= columns= rows= frames=53-53",
        "HANDSHAKE billing@shop id= status=0 affected= columns= rows= frames=60-64",
        "COM_QUERY SET NAMES 'utf8mb4' id= status=0 affected=0 columns= rows= frames=65-66",
        "COM_QUERY SET character_set_server = 'utf8mb4' id= status=0 affected=0 columns= rows= frames=67-68",
        "COM_QUERY SET collation_connection = 'utf8mb4_unicode_ci' id= status=0 affected=0 columns= rows= frames=69-70",
        "COM_QUERY SET collation_server = 'utf8mb4_unicode_ci' id= status=0 affected=0 columns= rows= frames=71-72",
        "COM_STMT_PREPARE SELECT item, qty FROM orders WHERE id >= ? id=1 status=0 affected= columns=item,qty rows= frames=73-74",
        "COM_STMT_EXECUTE SELECT item, qty FROM orders WHERE id >= ? id=1 status=0 affected= columns=item,qty rows=2 frames=75-76",
        "COM_STMT_EXECUTE SELECT item, qty FROM orders WHERE id >= ? id=1 status=0 affected= columns=item,qty rows=1 frames=77-78",
        "COM_STMT_CLOSE SELECT item, qty FROM orders WHERE id >= ? id=1 status= affected= columns= rows= frames=79-79",
        "COM_STMT_PREPARE INSERT INTO orders VALUES (?, ?, ?) id=2 status=0 affected= columns= rows= frames=80-82",
        "COM_STMT_EXECUTE INSERT INTO orders VALUES (?, ?, ?) id=2 status=0 affected=1 columns= rows= frames=83-84",
        "COM_STMT_EXECUTE INSERT INTO orders VALUES (?, ?, ?) id=2 status=1062 affected= columns= rows= frames=85-86",
        "COM_STMT_RESET INSERT INTO orders VALUES (?, ?, ?) id=2 status=0 affected=0 columns= rows= frames=87-88",
        "COM_STMT_CLOSE INSERT INTO orders VALUES (?, ?, ?) id=2 status= affected= columns= rows= frames=89-89",
        "COM_QUIT  id= status= affected= columns= rows= frames=90-90",
        "HANDSHAKE @ id= status=0 affected= columns= rows= frames=97-99",
    ];
    assert_eq!(got, want);
    assert!(exchanges.iter().all(|e| e.error.is_none()));
    let tls: Vec<_> = exchanges
        .iter()
        .map(|e| field(&e.request, "tls"))
        .filter(|t| !t.is_empty())
        .collect();
    assert_eq!(tls, ["false", "false", "false", "false", "true"]);
    let errors: Vec<_> = exchanges
        .iter()
        .map(|e| field(&e.response, "code"))
        .filter(|c| !c.is_empty())
        .collect();
    assert_eq!(errors, ["42000", "42S02", "23000"]);
}

#[test]
fn no_exchange_starts_before_what_the_parser_said_was_unfinished() {
    // What replay relies on, over the real session: after each segment a connection's parser
    // says where the earliest exchange it can still send starts; none it sends later starts
    // earlier.
    let mut parsers: HashMap<u32, (Box<dyn Parser>, i64)> = HashMap::new();
    let mut sent = 0;
    for segment in load("mysql/mariadb.seg") {
        let (parser, earliest) = parsers
            .entry(segment.stream)
            .or_insert_with(|| (MysqlDissector.parser(&ParserSettings::default()), i64::MIN));
        let meta = ChunkMeta {
            ts_ns: segment.ts_ns,
            packet: segment.frame,
        };
        let mut out = Vec::new();
        parser.feed(segment.dir, &segment.bytes, meta, &mut out);
        for exchange in &out {
            let start = exchange.start.map_or(i64::MIN, |m| m.ts_ns);
            assert!(start >= *earliest, "{exchange:?} starts before {earliest}");
        }
        sent += out.len();
        *earliest = (*earliest).max(match parser.unfinished() {
            Unfinished::Since(ts_ns) => ts_ns,
            Unfinished::Nothing => segment.ts_ns + 1,
            Unfinished::Unknown => i64::MIN,
        });
    }
    assert!(
        sent >= 30,
        "the session's exchanges came out before the end: {sent}"
    );
}
