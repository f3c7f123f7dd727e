//! A real server and a real client of one protocol in two network namespaces joined by a veth
//! pair (`tests/protocols/pair.sh`), the traffic between them captured by tcpdump on the
//! server's side and imported into a store: what the protocol tests compare with tshark.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::util::{Running, import, run_ok, tshark, workspace};

/// The server's address in the pair.
pub const SERVER: &str = "10.246.0.1";

/// Two namespaces, `<prefix>-srv` and `<prefix>-cli`, removed (with what runs in them) when dropped.
pub struct Pair {
    prefix: String,
}

impl Pair {
    /// Creates the namespaces under the prefix `<stem><pid>` (stems differ per test module).
    pub fn up(stem: &str) -> Self {
        let pair = Pair {
            prefix: format!("{stem}{}", std::process::id() % 100_000),
        };
        run_ok(pair.script("pair.sh").arg("up"));
        pair
    }

    /// One of `tests/protocols`'s scripts, run for this pair.
    pub fn script(&self, name: &str) -> Command {
        let mut cmd = Command::new("bash");
        cmd.arg(workspace().join("tests/protocols").join(name))
            .env("SHARK_PAIR", &self.prefix);
        cmd
    }

    /// `program` run in the server's (`srv`) or the client's (`cli`) namespace.
    pub fn exec(&self, side: &str, program: &str) -> Command {
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &format!("{}-{side}", self.prefix), program]);
        cmd
    }

    /// Captures on the server's side (TCP port `port`) into `pcap` while `traffic` runs.
    pub fn capture(&self, port: u16, pcap: &Path, traffic: impl FnOnce()) {
        self.capture_filtered(&format!("tcp port {port}"), pcap, traffic);
    }

    /// Captures on the server's side what the BPF `filter` passes into `pcap` while `traffic` runs.
    pub fn capture_filtered(&self, filter: &str, pcap: &Path, traffic: impl FnOnce()) {
        let mut tcpdump = Running::start(
            self.exec("srv", "tcpdump")
                .args(["--immediate-mode", "-U", "-Z", "root", "-i", "eth0", "-w"])
                .arg(pcap)
                .arg(filter)
                .stdout(Stdio::null())
                .stderr(Stdio::piped()),
        );
        // tcpdump says it listens once its filter is set: nothing sent after is missed.
        let stderr = tcpdump.stderr.take().expect("tcpdump's stderr piped");
        let mut line = String::new();
        let _ = BufReader::new(stderr).read_line(&mut line);
        assert!(line.contains("listening"), "tcpdump did not start: {line}");
        traffic();
        // The last ACKs and FINs pass within a moment, and each packet is written as tcpdump
        // reads it (immediate mode); but on a loaded machine tcpdump may read seconds behind,
        // and a kill loses what it has not read: wait until the file stops growing.
        let size = || std::fs::metadata(pcap).map_or(0, |m| m.len());
        let mut last = size();
        let mut still = 0;
        for _ in 0..100 {
            std::thread::sleep(std::time::Duration::from_millis(100));
            let now = size();
            still = if now == last { still + 1 } else { 0 };
            last = now;
            if still >= 5 {
                break;
            }
        }
        drop(tcpdump);
    }
}

impl Drop for Pair {
    fn drop(&mut self) {
        let _ = self.script("pair.sh").arg("down").status();
    }
}

/// A capture made between a pair and imported as node `node` into a store; kept for every test
/// of a module, so the server starts once. It lives in `target/shark-tests/<node>` (a static is
/// never dropped, so a temporary folder would outlive the run), replaced by the next run.
pub struct Captured {
    /// The capture file.
    pub pcap: PathBuf,
    /// The store it was imported into.
    pub store: PathBuf,
}

impl Captured {
    /// Runs `make(pair, state, pcap)`, which starts the server (its state in the temporary
    /// folder `state`, removed afterwards) and captures the traffic into `pcap`, on a fresh
    /// pair; then imports the capture as node `node`.
    pub fn make(stem: &str, node: &str, make: impl FnOnce(&Pair, &Path, &Path)) -> Self {
        let dir = workspace().join("target/shark-tests").join(node);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("capture folder");
        let pcap = dir.join(format!("{node}.pcap"));
        {
            let state = tempfile::tempdir().expect("temp dir");
            let pair = Pair::up(stem);
            make(&pair, state.path(), &pcap);
        }
        let store = dir.join("store");
        import(&store, &pcap, node);
        Captured { pcap, store }
    }

    /// tshark's `fields` of every packet of the capture that `options` select (a display filter,
    /// a decode-as, `-E` choices), one row per packet.
    pub fn tshark_fields(&self, options: &[&str], fields: &[&str]) -> Vec<Vec<String>> {
        let pcap = self.pcap.to_str().expect("utf-8 path");
        let mut args = vec!["-r", pcap, "-T", "fields"];
        args.extend_from_slice(options);
        for field in fields {
            args.extend(["-e", field]);
        }
        tshark(&args)
    }
}
