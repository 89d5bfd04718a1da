//! SHF_COMPRESSED input sections (gcc and clang `-gz`, rustc `-Zdebuginfo-compression`,
//! `objcopy --compress-debug-sections`): an `Elf64_Chdr` (the codec, the uncompressed size
//! and alignment) followed by a zlib or zstd stream. An object's compressed sections are
//! inflated in its parse job, so in parallel with every other input, into buffers the
//! [`crate::input::FileArena`] owns; the passes then read them like any other section.

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

    /// A corrupt header's size must not become an allocation: the answer is an error.
    #[test]
    fn an_absurd_announced_size_is_an_error() {
        let e = inflate(&section(ELFCOMPRESS_ZLIB, u64::MAX / 2, &zlib(b"abc\0"))).err().unwrap();
        assert!(e.contains("header says"), "{e}");
        assert!(inflate(&section(7, 4, b"")).err().unwrap().contains("unsupported compression type 7"));
        assert!(inflate(&[0; 10]).err().unwrap().contains("shorter than its header"));
    }
}
