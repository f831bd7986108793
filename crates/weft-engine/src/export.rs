//! `weft export` and `weft import`: plain files a person (or another app)
//! can read, plus optionally the native CRDT bytes.
//!
//! Layout of an export directory:
//! ```text
//! DIR/weft-export.json          manifest: file → id, kind, title, folder
//! DIR/<folder>/<title>.md        notes as Markdown
//! DIR/<folder>/<title>.json      records as JSON
//! DIR/<folder>/<title>.loro      with --native: the note's Loro snapshot
//! DIR/<folder>/<title>.automerge with --native: the record's Automerge document
//! ```
//! File names are titles with characters that are unsafe in file names
//! replaced; the manifest keeps the exact titles, so an import restores them.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use weft_core::index::check_folder_path;
use weft_core::note::Note;
use weft_core::record::Record;
use weft_core::{DocId, DocKind};

use crate::EngineError;
use crate::load::Crdt;
use crate::workspace::{Body, Pending, Workspace, now_ms};

/// The manifest's file name.
pub const MANIFEST: &str = "weft-export.json";

#[derive(Debug, Serialize, Deserialize)]
struct Manifest {
    format: u32,
    documents: Vec<ManifestEntry>,
}

#[derive(Debug, Serialize, Deserialize)]
struct ManifestEntry {
    file: String,
    id: String,
    kind: DocKind,
    title: String,
    folder: Vec<String>,
}

/// What an export wrote.
#[derive(Debug, Clone, Serialize)]
pub struct ExportReport {
    /// Notes written.
    pub notes: usize,
    /// Records written.
    pub records: usize,
    /// Files written, including the manifest.
    pub files: usize,
}

/// What an import created.
#[derive(Debug, Clone, Serialize)]
pub struct ImportReport {
    /// Notes created.
    pub notes: usize,
    /// Records created.
    pub records: usize,
    /// Places in the notes kept as their Markdown source because the editor
    /// has no model for them (raw blocks and spans, frontmatter outside the
    /// YAML subset of properties): exported as written, shown as source.
    pub kept_as_source: usize,
    /// The new documents' ids.
    pub ids: Vec<DocId>,
}

/// Makes a title safe as a file name on Linux, macOS and Windows.
fn file_stem(title: &str) -> String {
    let mut s: String = title
        .chars()
        .map(|c| match c {
            '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|' => '_',
            c if c.is_control() => '_',
            c => c,
        })
        .collect();
    s = s.trim_matches(|c| c == ' ' || c == '.').to_owned();
    if s.is_empty() {
        s = "untitled".into();
    }
    let mut s: String = s.chars().take(120).collect();
    // Windows refuses these names with any extension ("nul.md", "nul.txt.md"), in
    // any case: the mark goes right after the reserved base, before any dot.
    if is_windows_reserved(&s) {
        let base = s.find('.').unwrap_or(s.len());
        s.insert(base, '_');
    }
    s
}

/// Whether `stem` is a device name Windows reserves (CON, PRN, AUX, NUL, COM0-9, LPT0-9,
/// and the superscript-digit forms), whatever follows a dot.
fn is_windows_reserved(stem: &str) -> bool {
    let base = stem.split('.').next().unwrap_or(stem).trim_end();
    let upper = base.to_ascii_uppercase();
    if matches!(
        upper.as_str(),
        "CON" | "PRN" | "AUX" | "NUL" | "CONIN$" | "CONOUT$"
    ) {
        return true;
    }
    let mut chars = upper.chars();
    let prefix: String = chars.by_ref().take(3).collect();
    let rest: String = chars.collect();
    (prefix == "COM" || prefix == "LPT")
        && matches!(
            rest.as_str(),
            "0" | "1" | "2" | "3" | "4" | "5" | "6" | "7" | "8" | "9" | "¹" | "²" | "³"
        )
}

enum Parsed {
    Note(String),
    Record(serde_json::Value),
}

impl Workspace {
    /// Writes every live document to `dir` (created if missing).
    pub fn export(&mut self, dir: &Path, native: bool) -> Result<ExportReport, EngineError> {
        self.export_with_progress(dir, native, &mut |_, _| {})
    }

    /// [`Workspace::export`], calling `progress(done, total)` after each document.
    pub fn export_with_progress(
        &mut self,
        dir: &Path,
        native: bool,
        progress: &mut dyn FnMut(usize, usize),
    ) -> Result<ExportReport, EngineError> {
        std::fs::create_dir_all(dir).map_err(EngineError::io(dir))?;
        let docs = self.list(false)?;
        // Case-insensitive, as on macOS and Windows file systems. The manifest's name is
        // taken from the start, so a root-level document titled `weft-export` is written
        // beside it (`weft-export (2).json`) instead of being overwritten by it.
        let mut used: HashSet<String> = HashSet::from([MANIFEST.to_lowercase()]);
        let mut manifest = Manifest {
            format: 1,
            documents: Vec::new(),
        };
        let mut report = ExportReport {
            notes: 0,
            records: 0,
            files: 0,
        };
        let total = docs.len();
        progress(0, total);
        for d in docs {
            let ext = match d.kind {
                DocKind::Note => "md",
                _ => "json",
            };
            let mut rel = PathBuf::new();
            for f in &d.folder {
                rel.push(file_stem(f));
            }
            let stem = file_stem(&d.title);
            let mut n = 1;
            let mut file = rel.join(format!("{stem}.{ext}"));
            while used.contains(&file.to_string_lossy().to_lowercase()) {
                n += 1;
                file = rel.join(format!("{stem} ({n}).{ext}"));
            }
            used.insert(file.to_string_lossy().to_lowercase());
            let abs = dir.join(&file);
            if let Some(parent) = abs.parent() {
                std::fs::create_dir_all(parent).map_err(EngineError::io(parent))?;
            }
            let entry = self.live_entry(&d.id)?;
            // Documents loaded only to be written out are dropped again, so an
            // export holds one document at a time, not the whole workspace.
            let was_loaded = self.is_loaded(&d.id);
            let (text, native_bytes, native_ext) = match self.loaded_body(&entry)? {
                Body::Note(note) => (note.to_markdown(), note.export_snapshot()?, "loro"),
                Body::Record(r) => {
                    let mut s = serde_json::to_string_pretty(&r.to_json())
                        .map_err(|e| EngineError::Seal(e.to_string()))?;
                    s.push('\n');
                    (s, r.export_snapshot(), "automerge")
                }
            };
            if !was_loaded {
                self.evict(&d.id);
            }
            std::fs::write(&abs, text).map_err(EngineError::io(&abs))?;
            report.files += 1;
            if native {
                let nat = abs.with_extension(native_ext);
                std::fs::write(&nat, native_bytes).map_err(EngineError::io(&nat))?;
                report.files += 1;
            }
            match d.kind {
                DocKind::Note => report.notes += 1,
                _ => report.records += 1,
            }
            manifest.documents.push(ManifestEntry {
                file: file.to_string_lossy().replace('\\', "/"),
                id: d.id.to_hex(),
                kind: d.kind,
                title: d.title,
                folder: d.folder,
            });
            progress(manifest.documents.len(), total);
        }
        let m = dir.join(MANIFEST);
        let json =
            serde_json::to_vec_pretty(&manifest).map_err(|e| EngineError::Seal(e.to_string()))?;
        std::fs::write(&m, json).map_err(EngineError::io(&m))?;
        report.files += 1;
        Ok(report)
    }

    /// Creates a document for every `.md` (note) and `.json` (record) file
    /// under `dir`, keeping the folder structure. With a `weft-export.json`
    /// manifest, exact titles and folders are restored. Every file is read
    /// and checked first; if any is bad, nothing is imported.
    pub fn import(&mut self, dir: &Path) -> Result<ImportReport, EngineError> {
        self.import_with_progress(dir, &mut |_, _| {})
    }

    /// [`Workspace::import`], calling `progress(read, total)` as files are read and
    /// checked (the documents are then created in one transaction).
    pub fn import_with_progress(
        &mut self,
        dir: &Path,
        progress: &mut dyn FnMut(usize, usize),
    ) -> Result<ImportReport, EngineError> {
        if !dir.exists() {
            return Err(EngineError::Io {
                path: dir.to_owned(),
                cause: std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "no such file or directory",
                ),
            });
        }
        if !dir.is_dir() {
            return Err(EngineError::Import {
                path: dir.to_owned(),
                detail: "not a directory".into(),
            });
        }
        // Two passes, so memory holds one file at a time however large the
        // folder: every file is read and checked first (if any is bad, nothing
        // is imported), then read again and written inside one transaction
        // (all or nothing: a file that changed in between and no longer reads
        // rolls the whole import back).
        let mut items: Vec<(String, Vec<String>, DocKind, PathBuf)> = Vec::new();
        let manifest_path = dir.join(MANIFEST);
        if manifest_path.symlink_metadata().is_ok() {
            check_regular_file_inside(dir, &manifest_path)?;
            let raw = std::fs::read(&manifest_path).map_err(EngineError::io(&manifest_path))?;
            let m: Manifest = serde_json::from_slice(&raw).map_err(|e| EngineError::Import {
                path: manifest_path.clone(),
                detail: e.to_string(),
            })?;
            let total = m.documents.len();
            for (i, d) in m.documents.into_iter().enumerate() {
                progress(i, 2 * total);
                let path = manifest_file(dir, &d.file).ok_or_else(|| EngineError::Import {
                    path: manifest_path.clone(),
                    detail: format!("file `{}` points outside the export directory", d.file),
                })?;
                check_regular_file_inside(dir, &path)?;
                check_file(&path, d.kind)?;
                items.push((d.title, d.folder, d.kind, path));
            }
        } else {
            let mut files = Vec::new();
            walk(dir, &mut files)?;
            files.sort();
            let total = files.len();
            for (i, path) in files.into_iter().enumerate() {
                progress(i, 2 * total);
                let Some(kind) = importable(&path) else {
                    continue;
                };
                let rel = path.strip_prefix(dir).unwrap_or(&path);
                let folder: Vec<String> = rel
                    .parent()
                    .map(|p| p.iter().map(|c| c.to_string_lossy().into_owned()).collect())
                    .unwrap_or_default();
                let title = path
                    .file_stem()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_else(|| "untitled".into());
                check_file(&path, kind)?;
                items.push((title, folder, kind, path));
            }
        }
        let total = items.len();
        progress(total, 2 * total);
        // Titles and folders are checked before touching anything.
        let mut planned = Vec::with_capacity(total);
        for (title, folder, kind, path) in items {
            let folder = check_folder_path(&folder).map_err(|e| EngineError::Import {
                path: path.clone(),
                detail: e.to_string(),
            })?;
            planned.push((DocId::random(), title, folder, kind, path));
        }
        let now = now_ms();
        self.ensure_index_tree()?;
        for (doc, title, folder, kind, path) in &planned {
            if let Err(e) = self.index.doc.add_doc(*doc, *kind, title, folder, now) {
                self.evict(&crate::workspace::INDEX_DOC);
                return Err(EngineError::Import {
                    path: path.clone(),
                    detail: e.to_string(),
                });
            }
        }
        let index = self.index.doc.take_pending().map(|body| Pending {
            doc: crate::workspace::INDEX_DOC,
            kind: DocKind::Index,
            body,
            summary: "imported".into(),
        });
        let mut next = planned.iter().enumerate();
        let mut kept_as_source = 0;
        let mut stream = || -> Option<Result<Pending, EngineError>> {
            let (i, (doc, _, _, kind, path)) = next.next()?;
            progress(total + i + 1, 2 * total);
            Some(first_change(path, *doc, *kind).map(|(pending, kept)| {
                kept_as_source += kept;
                pending
            }))
        };
        if let Err(e) = self.commit(index.as_slice(), &mut stream) {
            self.evict(&crate::workspace::INDEX_DOC);
            return Err(e);
        }
        self.maybe_snapshot()?;
        let mut report = ImportReport {
            notes: 0,
            records: 0,
            kept_as_source,
            ids: Vec::with_capacity(total),
        };
        for (doc, _, _, kind, _) in planned {
            match kind {
                DocKind::Note => report.notes += 1,
                _ => report.records += 1,
            }
            report.ids.push(doc);
        }
        Ok(report)
    }
}

/// Checks that a file reads as a document of `kind` (a record's JSON must
/// parse and be an object a record can hold).
fn check_file(path: &Path, kind: DocKind) -> Result<(), EngineError> {
    if let Parsed::Record(v) = read_file(path, kind)? {
        Record::from_json(&v).map_err(|e| EngineError::Import {
            path: path.to_owned(),
            detail: e.to_string(),
        })?;
    }
    Ok(())
}

/// The first change of a new document made from a file, and how many places
/// of a note were kept as Markdown source.
fn first_change(path: &Path, doc: DocId, kind: DocKind) -> Result<(Pending, usize), EngineError> {
    let mut kept = 0;
    let mut body = match read_file(path, kind)? {
        Parsed::Note(md) => {
            let (note, report) = Note::from_markdown_report(&md);
            kept = report.kept_as_source;
            Body::Note(note)
        }
        Parsed::Record(v) => Body::Record(Box::new(Record::from_json(&v).map_err(|e| {
            EngineError::Import {
                path: path.to_owned(),
                detail: e.to_string(),
            }
        })?)),
    };
    let kind = body.kind();
    let pending = Pending {
        doc,
        kind,
        body: body.take_pending().unwrap_or_default(),
        summary: "imported".into(),
    };
    Ok((pending, kept))
}

fn read_file(path: &Path, kind: DocKind) -> Result<Parsed, EngineError> {
    let text = std::fs::read_to_string(path).map_err(|e| EngineError::Import {
        path: path.to_owned(),
        detail: e.to_string(),
    })?;
    match kind {
        DocKind::Note => Ok(Parsed::Note(text)),
        _ => serde_json::from_str(&text)
            .map(Parsed::Record)
            .map_err(|e| EngineError::Import {
                path: path.to_owned(),
                detail: format!("invalid JSON: {e}"),
            }),
    }
}

/// The kind of document a file of this name imports as, if any.
fn importable(path: &Path) -> Option<DocKind> {
    match path.extension().and_then(|e| e.to_str()) {
        Some("md") | Some("markdown") => Some(DocKind::Note),
        Some("json") => Some(DocKind::Record),
        _ => None,
    }
}

/// Where a manifest's `file` is inside `dir`, or `None` if it could point anywhere else.
///
/// An export made on one system is imported on another, so the check is the same on
/// every platform: both `/` and `\` separate components, and a component that is
/// empty (a leading separator: absolute, or a UNC `\\server\share`), that ends in a dot
/// or a space (`.`, `..`, and what Windows trims to them, such as `...` or `.. `), or
/// that holds a `:` (a drive `C:`, an NTFS stream) or a NUL, is refused. Weft's exports
/// never write such names: `file_stem` replaces or trims all of them.
fn manifest_file(dir: &Path, file: &str) -> Option<PathBuf> {
    let mut path = dir.to_owned();
    for c in file.split(['/', '\\']) {
        if c.is_empty() || c.ends_with(['.', ' ']) || c.contains([':', '\0']) {
            return None;
        }
        path.push(c);
    }
    (path != dir).then_some(path)
}

/// Refuses `path` (inside `dir`) unless it and every directory between `dir` and it are
/// what they seem: directories and, at the end, a regular file, none a symbolic link
/// (which could lead anywhere on this machine).
fn check_regular_file_inside(dir: &Path, path: &Path) -> Result<(), EngineError> {
    let rel = path.strip_prefix(dir).map_err(|_| EngineError::Import {
        path: path.to_owned(),
        detail: "is outside the export directory".into(),
    })?;
    let mut at = dir.to_owned();
    let mut parts = rel.components().peekable();
    while let Some(c) = parts.next() {
        at.push(c);
        let meta = at.symlink_metadata().map_err(|e| EngineError::Import {
            path: at.clone(),
            detail: e.to_string(),
        })?;
        let last = parts.peek().is_none();
        if meta.file_type().is_symlink() {
            return Err(not_regular(&at, "is a symbolic link"));
        }
        if last && !meta.is_file() {
            return Err(not_regular(&at, "is not a regular file"));
        }
        if !last && !meta.is_dir() {
            return Err(not_regular(&at, "is not a directory"));
        }
    }
    Ok(())
}

fn not_regular(path: &Path, what: &str) -> EngineError {
    EngineError::Import {
        path: path.to_owned(),
        detail: format!("{what}; only regular files inside the directory are imported"),
    }
}

fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), EngineError> {
    for entry in std::fs::read_dir(dir).map_err(EngineError::io(dir))? {
        let entry = entry.map_err(EngineError::io(dir))?;
        let path = entry.path();
        let name = entry.file_name();
        if name.to_string_lossy().starts_with('.') || name == MANIFEST {
            continue;
        }
        // `file_type` does not follow a symbolic link: a link to a file or directory
        // that would be imported is refused, as a crafted folder could otherwise pull
        // any file of this machine into a synced document.
        let ft = entry.file_type().map_err(EngineError::io(&path))?;
        if ft.is_symlink() && (importable(&path).is_some() || path.is_dir()) {
            return Err(not_regular(&path, "is a symbolic link"));
        }
        if ft.is_dir() {
            walk(&path, out)?;
        } else if ft.is_file() {
            out.push(path);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_avoid_what_windows_reserves() {
        assert_eq!(file_stem("CON"), "CON_");
        assert_eq!(file_stem("nul"), "nul_");
        assert_eq!(file_stem("com1"), "com1_");
        assert_eq!(file_stem("LPT9.notes"), "LPT9_.notes");
        assert_eq!(file_stem("nul.txt"), "nul_.txt");
        assert_eq!(file_stem("Console"), "Console");
        assert_eq!(file_stem("COM10"), "COM10");
        assert_eq!(file_stem("a/b:c"), "a_b_c");
        assert_eq!(file_stem(" . "), "untitled");
    }
}
