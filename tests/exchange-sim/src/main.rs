//! Exchange simulator entry point.
fn main() {}
