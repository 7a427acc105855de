//! Process-wide memory settings.

/// Asks the kernel not to back this process with transparent huge pages.
///
/// The binaries allocate with mimalloc, which commits its arenas eagerly. On
/// a kernel with THP set to `always`, every 2 MiB of an arena the process
/// touches then becomes resident at once: the all-in-one binary sat at 88 MB
/// idle instead of 41 MB, with no measurable gain in throughput
/// (BENCHMARKS.md, "Memory of the all-in-one binary"). Call it first thing in
/// `main`; where the kernel refuses, the process runs as it would have.
pub fn avoid_transparent_huge_pages() {
    #[cfg(target_os = "linux")]
    {
        // Only a footprint setting: failing it changes nothing else.
        let _ = rustix::thread::disable_transparent_huge_pages(true);
    }
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    #[test]
    fn the_process_opts_out_of_transparent_huge_pages() {
        super::avoid_transparent_huge_pages();
        assert_eq!(
            rustix::thread::transparent_huge_pages_are_disabled().ok(),
            Some(true)
        );
    }
}
