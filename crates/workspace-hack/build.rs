//! Exists so that cargo compiles the build-dependencies, whose features unify
//! with those of the proc macros and build scripts of the test build.
fn main() {}
