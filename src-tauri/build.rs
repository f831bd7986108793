//! Runs tauri-build against the Tauri config at the repository root (the design fixes
//! that layout) and generates the app context, embedding the built UI from `ui/dist`.

use std::path::Path;

/// Relative to this crate's directory, as tauri-build resolves it.
const CONFIG: &str = "../tauri.conf.json";
const UI_DIST: &str = "../ui/dist";

/// Shown when the UI has not been built yet. Without it a plain `cargo build` on a fresh
/// clone would fail inside tauri-build ("frontendDist doesn't exist"), which is a poor
/// way to learn that `make ui` (or `make run`) builds the front end first.
const PLACEHOLDER: &str = r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Weft</title></head>
<body style="font: 15px system-ui, sans-serif; padding: 2rem">
<h1>Weft</h1>
<p>The user interface has not been built. Run <code>make ui</code> (or <code>make run</code>)
in the repository and build again.</p>
</body></html>
"#;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dist = Path::new(UI_DIST);
    if !dist.join("index.html").is_file() {
        println!(
            "cargo:warning=ui/dist is not built: embedding a placeholder page (run `make ui`)"
        );
        std::fs::create_dir_all(dist)?;
        std::fs::write(dist.join("index.html"), PLACEHOLDER)?;
    }
    let attributes = tauri_build::Attributes::new()
        .config_path(CONFIG)
        .codegen(tauri_build::CodegenContext::new());
    tauri_build::try_build(attributes)?;
    Ok(())
}
