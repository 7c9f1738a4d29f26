//! `portcullis import-litellm FILE [-o OUT]`: writes the converted config to OUT (or stdout)
//! and the notes to stderr. The conversion is the pure `portcullis_config::import_litellm`;
//! nothing here prints a value from the LiteLLM file, only the converted references and notes.

use std::io::{Read, Write};
use std::path::Path;

use anyhow::Context;
use portcullis_config::{ImportError, ImportNote, MAX_CONFIG_BYTES, NoteKind, import_litellm};
use zeroize::Zeroizing;

pub(crate) fn run(
    input: &Path,
    output: Option<&Path>,
    stdout: &mut dyn Write,
    stderr: &mut dyn Write,
) -> anyhow::Result<()> {
    let file =
        std::fs::File::open(input).with_context(|| format!("opening {}", input.display()))?;
    // The LiteLLM file may hold inline keys; wipe our copy when done.
    let mut text = Zeroizing::new(String::new());
    file.take(MAX_CONFIG_BYTES as u64 + 1)
        .read_to_string(&mut text)
        .with_context(|| format!("reading {}", input.display()))?;
    let imported = match import_litellm(&text) {
        Ok(imported) => imported,
        Err(ImportError::NothingConverted(notes)) => {
            print_notes(&notes, stderr)?;
            anyhow::bail!("no model in model_list could be converted");
        }
        Err(err) => return Err(err.into()),
    };
    match output {
        Some(path) => {
            std::fs::write(path, &imported.yaml)
                .with_context(|| format!("writing {}", path.display()))?;
            writeln!(stderr, "wrote {}", path.display())?;
        }
        None => stdout.write_all(imported.yaml.as_bytes())?,
    }
    print_notes(&imported.notes, stderr)?;
    if !imported.env_vars.is_empty() {
        writeln!(
            stderr,
            "set before starting: {}",
            imported.env_vars.join(" ")
        )?;
    }
    Ok(())
}

fn print_notes(notes: &[ImportNote], out: &mut dyn Write) -> std::io::Result<()> {
    for note in notes {
        let kind = match note.kind {
            NoteKind::Export => "export",
            NoteKind::Unconverted => "not converted",
            NoteKind::Info => "note",
        };
        writeln!(out, "{kind}: {}: {}", note.path, note.message)?;
    }
    Ok(())
}
