//! Generates the KFL parser from `src/grammar.lalrpop`.

fn main() {
    lalrpop::process_src().unwrap_or_else(|err| panic!("generating the KFL parser failed: {err}"));
}
