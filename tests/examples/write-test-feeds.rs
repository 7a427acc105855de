//! Writes the test kit's fixture feeds (kagoshima_tests::feeds) into a
//! folder, one sub-folder each, so that outside GTFS validators can judge
//! them: `cargo run -p kagoshima-tests --example write-test-feeds DIR`.
fn main() {
    let Some(out) = std::env::args().nth(1) else {
        eprintln!(
            "usage: write-test-feeds DIR (a folder to write one feed folder per fixture into)"
        );
        std::process::exit(2);
    };
    for (name, dir) in kagoshima_tests::feeds::all() {
        let target = std::path::Path::new(&out).join(name);
        std::fs::create_dir_all(&target).expect("create the feed folder");
        for entry in std::fs::read_dir(&dir).expect("the written fixture") {
            let path = entry.expect("entry").path();
            std::fs::copy(&path, target.join(path.file_name().expect("name"))).expect("copy");
        }
        std::fs::remove_dir_all(&dir).ok();
        println!("{}", target.display());
    }
}
