//! `kagoshima-indicators`: the indicators service and its command line
//! ([`kagoshima_indicators::cli`]).

/// mimalloc: the system allocator cost a quarter of the arrivals
/// throughput under load (BENCHMARKS.md, "Passenger queries").
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> anyhow::Result<()> {
    kagoshima_runtime::memory::avoid_transparent_huge_pages();
    kagoshima_indicators::cli::run()
}
