//! The `tally` binary: all behaviour lives in the library's `cli` module.

fn main() {
    std::process::exit(tally::cli::main());
}
