fn main() {
    print!("{}", rramsim_hw::key_effects_markdown());
}
