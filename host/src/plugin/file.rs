//! Taking a plugin file in: it is copied to its private shadow path in small chunks while
//! its SHA-256 is computed (no whole-file buffer: plugin files run to tens of MB), and the
//! copy's ELF headers are checked before anything reaches `dlopen`. The digest and the
//! checks are of the copy that gets loaded, whatever happens to the original meanwhile.

use std::fs::{self, File};
use std::io::{Read, Write};
use std::os::unix::fs::FileExt;
use std::path::Path;

use sha2::{Digest, Sha256};

use crate::plugin::loader::LoadError;

/// Copies `path` to `shadow` and returns the copy's SHA-256 (hex), refusing a file that is
/// not a complete 64-bit ELF shared object.
pub(crate) fn copy_checked(path: &Path, shadow: &Path) -> Result<String, LoadError> {
    let io = |source| LoadError::Io {
        path: path.to_owned(),
        source,
    };
    let mut from = File::open(path).map_err(io)?;
    let mut to = File::create(shadow).map_err(io)?;
    let mut hasher = Sha256::new();
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        let n = from.read(&mut chunk).map_err(io)?;
        if n == 0 {
            break;
        }
        hasher.update(&chunk[..n]);
        to.write_all(&chunk[..n]).map_err(io)?;
    }
    to.flush().map_err(io)?;
    drop(to);
    let copy = File::open(shadow).map_err(io)?;
    let len = copy.metadata().map_err(io)?.len();
    let mut magic = [0u8; 4];
    if copy.read_exact_at(&mut magic, 0).is_err() || &magic != b"\x7fELF" {
        let _ = fs::remove_file(shadow);
        return Err(LoadError::NotSharedLibrary {
            path: path.to_owned(),
        });
    }
    check_elf_extent(&copy, len).map_err(|reason| {
        let _ = fs::remove_file(shadow);
        LoadError::Corrupt {
            path: path.to_owned(),
            reason,
        }
    })?;
    Ok(hex::encode(hasher.finalize()))
}

/// Refuses a file whose ELF headers point past its end. `dlopen` maps such a file and then
/// faults (SIGBUS) on the missing pages, taking the whole process down, so this is checked
/// before the file gets anywhere near the dynamic loader.
fn check_elf_extent(file: &File, len: u64) -> Result<(), String> {
    let short = || format!("truncated: the ELF header needs more than {len} bytes");
    let mut header = [0u8; 64];
    file.read_exact_at(&mut header, 0).map_err(|_| short())?;
    // 64-bit little-endian only: the host's own format.
    if header[4] != 2 || header[5] != 1 {
        return Err("not a 64-bit little-endian ELF file".into());
    }
    let phoff = u64_at(&header, 0x20).ok_or_else(short)?;
    let shoff = u64_at(&header, 0x28).ok_or_else(short)?;
    let phentsize = u16_at(&header, 0x36).ok_or_else(short)?;
    let phnum = u16_at(&header, 0x38).ok_or_else(short)?;
    let shentsize = u16_at(&header, 0x3a).ok_or_else(short)?;
    let shnum = u16_at(&header, 0x3c).ok_or_else(short)?;
    let tables = [
        ("program headers", phoff, phentsize * phnum),
        ("section headers", shoff, shentsize * shnum),
    ];
    for (what, off, size) in tables {
        if off.saturating_add(size) > len {
            return Err(format!(
                "truncated: {what} end at byte {} but the file has {len}",
                off.saturating_add(size)
            ));
        }
    }
    // Within the file, as just checked; at most 65535 entries of a few dozen bytes.
    let mut table = vec![0u8; (phentsize * phnum) as usize];
    file.read_exact_at(&mut table, phoff)
        .map_err(|e| format!("reading the program headers: {e}"))?;
    const PT_LOAD: u32 = 1;
    for ph in table.chunks_exact(phentsize.max(1) as usize) {
        let kind = ph
            .get(0..4)
            .map(|x| u32::from_le_bytes([x[0], x[1], x[2], x[3]]));
        if kind == Some(PT_LOAD) {
            let off = u64_at(ph, 8).ok_or_else(short)?;
            let filesz = u64_at(ph, 0x20).ok_or_else(short)?;
            if off.saturating_add(filesz) > len {
                return Err(format!(
                    "truncated: a loadable segment ends at byte {} but the file has {len}",
                    off.saturating_add(filesz)
                ));
            }
        }
    }
    Ok(())
}

fn u16_at(b: &[u8], o: usize) -> Option<u64> {
    b.get(o..o + 2)
        .map(|x| u16::from_le_bytes([x[0], x[1]]) as u64)
}

fn u64_at(b: &[u8], o: usize) -> Option<u64> {
    b.get(o..o + 8)
        .map(|x| u64::from_le_bytes(x.try_into().unwrap_or([0; 8])))
}
