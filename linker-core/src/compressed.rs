//! SHF_COMPRESSED sections: an `Elf64_Chdr` (the codec, the uncompressed size and alignment)
//! followed by a zlib or zstd stream.
//!
//! **Inputs** (gcc and clang `-gz`, rustc `-Zdebuginfo-compression`, `objcopy
//! --compress-debug-sections`): an object's compressed sections are inflated in its parse job,
//! so in parallel with every other input, into buffers the [`crate::input::FileArena`] owns;
//! the passes then read them like any other section.
//!
//! **Output** (`--compress-debug-sections=zlib|zstd`): the writer cuts each `.debug_*`
//! section into the pieces it copies and relocates in parallel anyway (about 256 KiB each),
//! and each piece is compressed on its own thread the moment it is relocated, so only the
//! compressed bytes are kept. The pieces are then joined into one stream per section: zstd
//! pieces are whole frames, and a stream of several frames is one valid stream; zlib pieces
//! are raw deflate blocks ended by a sync flush (byte-aligned, not final), joined between a
//! zlib header and an empty final block, with the Adler-32 of the whole section combined
//! from the pieces' own (zlib-rs, whose sync flush always ends on a byte boundary: with
//! miniz_oxide's, some joined streams did not inflate). Levels, measured on ripgrep's debug
//! link (50 MB, 2 threads, against rust-lld's same option): zlib level 2 gives 25.0 MB in
//! 201 ms (level 1: 27.2 MB in 150 ms; lld 25.3 MB in 441 ms), zstd level 3 23.5 MB in
//! 173 ms (level 1: 24.2 MB in 133 ms; lld 23.0 MB in 728 ms): the output is as small as
//! lld's within 2% for a fraction of its time. The pieces depend only on the output's bytes,
//! so the result is the same at any thread count.

use crate::args::DebugCompression;
use crate::elf::*;

/// What a compressed section holds once inflated.
pub struct Inflated {
    pub bytes: Vec<u8>,
    pub align: u64,
}

/// Inflates the contents of one SHF_COMPRESSED section (header included).
pub fn inflate(section: &[u8]) -> Result<Inflated, String> {
    let header_size = std::mem::size_of::<CompressionHeader64<LE>>();
    let header = section
        .get(..header_size)
        .and_then(|h| object::pod::from_bytes::<CompressionHeader64<LE>>(h).ok())
        .map(|(h, _)| h)
        .ok_or("compressed section shorter than its header")?;
    let (codec, size, align) = (header.ch_type.get(E), header.ch_size.get(E), header.ch_addralign.get(E));
    if align != 0 && !align.is_power_of_two() {
        return Err(format!("compressed section has alignment {align}, not a power of two"));
    }
    let size = usize::try_from(size).map_err(|_| "compressed section too large")?;
    let stream = &section[header_size..];
    // The header's size is not trusted for the allocation: a corrupt one could ask for
    // exabytes. Reading stops one byte past it, to tell a stream that is too long.
    let mut bytes = Vec::with_capacity(size.min(stream.len().saturating_mul(64)));
    let limit = size as u64 + 1;
    use std::io::Read;
    match codec {
        ELFCOMPRESS_ZLIB => flate2::read::ZlibDecoder::new(stream)
            .take(limit)
            .read_to_end(&mut bytes)
            .map_err(|e| format!("corrupt zlib stream: {e}"))?,
        ELFCOMPRESS_ZSTD => zstd::stream::read::Decoder::with_buffer(stream)
            .map_err(|e| format!("corrupt zstd stream: {e}"))?
            .take(limit)
            .read_to_end(&mut bytes)
            .map_err(|e| format!("corrupt zstd stream: {e}"))?,
        other => return Err(format!("unsupported compression type {other}")),
    };
    if bytes.len() != size {
        return Err(format!("compressed section inflates to {} bytes, its header says {size}", bytes.len()));
    }
    Ok(Inflated { bytes, align: align.max(1) })
}

/// Compression levels of output sections (see the module docs for the measurements).
const ZLIB_LEVEL: u32 = 2;
const ZSTD_LEVEL: i32 = 3;

/// One piece of an output section, compressed on its own.
pub struct DeflatedPiece {
    stream: Vec<u8>,
    /// Its uncompressed length and Adler-32 (zlib only).
    len: u64,
    adler: u32,
}

/// Compresses the bytes of `parts`, in order, as one piece of a section's stream.
pub fn deflate_piece<'a>(codec: DebugCompression, parts: impl IntoIterator<Item = &'a [u8]>) -> DeflatedPiece {
    use std::io::Write;
    let (mut len, mut adler) = (0, 1);
    match codec {
        DebugCompression::Zlib => {
            let mut encoder = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::new(ZLIB_LEVEL));
            for part in parts {
                len += part.len() as u64;
                adler = zlib_rs::adler32::adler32(adler, part);
                encoder.write_all(part).expect("writing to memory");
            }
            // A sync flush ends the piece on a byte boundary without a final block.
            encoder.flush().expect("writing to memory");
            let stream = std::mem::take(encoder.get_mut());
            DeflatedPiece { stream, len, adler }
        }
        DebugCompression::Zstd => {
            let mut encoder = zstd::stream::write::Encoder::new(Vec::new(), ZSTD_LEVEL).expect("a valid zstd level");
            for part in parts {
                len += part.len() as u64;
                encoder.write_all(part).expect("writing to memory");
            }
            DeflatedPiece { stream: encoder.finish().expect("writing to memory"), len, adler: 0 }
        }
    }
}

/// A whole SHF_COMPRESSED section's contents: the header, then the pieces' streams joined in
/// order. `align` is the uncompressed section's alignment.
pub fn join_pieces(codec: DebugCompression, pieces: &[&DeflatedPiece], align: u64) -> Vec<u8> {
    let len: u64 = pieces.iter().map(|p| p.len).sum();
    let streams: usize = pieces.iter().map(|p| p.stream.len()).sum();
    let mut out = Vec::with_capacity(size_of::<CompressionHeader64<LE>>() + streams + 8);
    let ch_type = match codec {
        DebugCompression::Zlib => ELFCOMPRESS_ZLIB,
        DebugCompression::Zstd => ELFCOMPRESS_ZSTD,
    };
    out.extend(ch_type.to_le_bytes());
    out.extend(0u32.to_le_bytes());
    out.extend(len.to_le_bytes());
    out.extend(align.to_le_bytes());
    match codec {
        DebugCompression::Zlib => {
            // CMF: deflate with a 32 KiB window; FLG: fastest level, no dictionary, check bits.
            out.extend([0x78, 0x01]);
            pieces.iter().for_each(|p| out.extend_from_slice(&p.stream));
            // An empty final block with fixed codes: BFINAL=1, BTYPE=01, end-of-block.
            out.extend([0x03, 0x00]);
            let adler = pieces.iter().fold(1, |sum, p| zlib_rs::adler32::adler32_combine(sum, p.adler, p.len));
            out.extend(adler.to_be_bytes());
        }
        DebugCompression::Zstd => pieces.iter().for_each(|p| out.extend_from_slice(&p.stream)),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn section(codec: u32, announced: u64, stream: &[u8]) -> Vec<u8> {
        let mut s = Vec::new();
        s.extend(codec.to_le_bytes());
        s.extend(0u32.to_le_bytes());
        s.extend(announced.to_le_bytes());
        s.extend(8u64.to_le_bytes());
        s.extend(stream);
        s
    }

    fn zlib(data: &[u8]) -> Vec<u8> {
        use std::io::Write;
        let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn both_codecs_inflate_to_the_announced_size() {
        let data: Vec<u8> = (0..10_000u32).flat_map(|i| (i % 251).to_le_bytes()).collect();
        let zstd_stream = zstd::bulk::compress(&data, 3).unwrap();
        for (codec, stream) in [(ELFCOMPRESS_ZLIB, zlib(&data)), (ELFCOMPRESS_ZSTD, zstd_stream)] {
            let inflated = inflate(&section(codec, data.len() as u64, &stream)).unwrap();
            assert_eq!((inflated.bytes, inflated.align), (data.clone(), 8));
            let short = inflate(&section(codec, data.len() as u64 - 1, &stream)).err().unwrap();
            assert!(short.contains("header says"), "{short}");
        }
    }

    /// Pieces compressed apart and joined inflate to the whole, with either codec; the zlib
    /// stream's checksum is the one of the whole (flate2 checks it).
    #[test]
    fn joined_pieces_inflate_to_the_whole_section() {
        let data: Vec<u8> = (0..300_000u32).flat_map(|i| (i % 977).to_le_bytes()).collect();
        for codec in [DebugCompression::Zlib, DebugCompression::Zstd] {
            let pieces: Vec<DeflatedPiece> = [&data[..5], &data[5..70_001], &data[70_001..70_001], &data[70_001..]]
                .iter()
                .map(|part| deflate_piece(codec, [&part[..1.min(part.len())], &part[1.min(part.len())..]]))
                .collect();
            let pieces: Vec<&DeflatedPiece> = pieces.iter().collect();
            let joined = join_pieces(codec, &pieces, 1);
            assert!(inflate(&joined).unwrap().bytes == data, "{codec:?}");
            assert!(joined.len() < data.len() / 4, "{codec:?} compresses: {} bytes", joined.len());
        }
    }

    /// A corrupt header's size must not become an allocation: the answer is an error.
    #[test]
    fn an_absurd_announced_size_is_an_error() {
        let e = inflate(&section(ELFCOMPRESS_ZLIB, u64::MAX / 2, &zlib(b"abc\0"))).err().unwrap();
        assert!(e.contains("header says"), "{e}");
        assert!(inflate(&section(7, 4, b"")).err().unwrap().contains("unsupported compression type 7"));
        assert!(inflate(&[0; 10]).err().unwrap().contains("shorter than its header"));
    }
}
