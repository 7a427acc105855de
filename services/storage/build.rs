//! `sqlx::migrate!` embeds the migrations at compile time, but Cargo does not
//! know that a new file in `migrations/` changes this crate: without this, a
//! build made before a migration was added keeps running without it (as sqlx
//! advises).
fn main() {
    println!("cargo:rerun-if-changed=../../migrations");
}
