//! The `tally` binary: all behaviour lives in the library's `cli` module.

/// mimalloc: the compile path allocates many small SQL fragments; it halves its time.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    std::process::exit(tally::cli::main());
}
