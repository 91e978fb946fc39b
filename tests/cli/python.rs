//! The Python package (python/) and the quick-start notebook, through the tools
//! venv: the package is built from this checkout with maturin (in the test
//! profile, reusing this run's dependencies; cargo holds no lock while tests
//! run) and installed into `tools/.venv`, then its pytest suite runs against
//! this build's `rramsim` binary, and the notebook is executed.

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;

use crate::root;

/// Installs the package once per test run; `None` when the venv is missing
/// (skipped locally with a notice, a failure under CI).
fn installed() -> Option<&'static PathBuf> {
    static INSTALLED: OnceLock<Option<PathBuf>> = OnceLock::new();
    INSTALLED
        .get_or_init(|| {
            let python = crate::tools::tools_python()?;
            let bin = python.parent().expect("venv bin").to_owned();
            let path = format!("{}:{}", bin.display(), std::env::var("PATH").unwrap_or_default());
            let o = Command::new(&python)
                .args(["-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-build-isolation"])
                .args(["--no-deps", "./python"])
                .current_dir(root())
                .env("PATH", path)
                .env("MATURIN_PEP517_ARGS", "--profile dev")
                .output()
                .expect("pip runs");
            assert!(o.status.success(), "pip install ./python failed:\n{}", String::from_utf8_lossy(&o.stderr));
            Some(python)
        })
        .as_ref()
}

#[test]
fn python_package_matches_the_cli() {
    let Some(python) = installed() else { return };
    let o = Command::new(python)
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider", "python/tests"])
        .current_dir(root())
        .env("RRAMSIM_BIN", env!("CARGO_BIN_EXE_rramsim"))
        .env("RRAMSIM_ROOT", root())
        .output()
        .expect("pytest runs");
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success(), "pytest failed:\n{out}\n{}", String::from_utf8_lossy(&o.stderr));
    assert!(out.contains(" passed") && !out.contains("skipped"), "{out}");
}

#[test]
fn quickstart_notebook_runs() {
    let Some(python) = installed() else { return };
    let out = crate::scratch("notebook").join("quickstart.ipynb");
    let o = Command::new(python)
        .arg(root().join("tools/notebooks/run_notebook.py"))
        .arg(root().join("tools/notebooks/quickstart.ipynb"))
        .arg(&out)
        .current_dir(root())
        .output()
        .expect("python runs");
    assert!(
        o.status.success(),
        "the notebook failed:\n{}\n{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    let executed = std::fs::read_to_string(&out).unwrap();
    assert!(executed.contains("image/png"), "the notebook drew no plot");
}
