//! Finding an artifact's sections by name.

use object::read::elf::{ElfFile64, ElfSection64, FileHeader, SectionHeader};
use object::{Endianness, Object, SectionIndex};

/// An artifact parsed as the ELF64 image it is on every target.
pub(crate) type File<'data> = ElfFile64<'data, Endianness>;

/// The section named `name`, if any. Names are compared in the
/// section-name table directly: `object`'s own lookup finds the end of
/// each name with the `memchr` crate, whose first call detects the CPU's
/// features with `cpuid`, ten exits to the hypervisor on a virtual
/// machine (0.03 ms of a hello world's start-up).
pub(crate) fn by_name<'data, 'file>(
    file: &'file File<'data>,
    name: &str,
) -> Option<ElfSection64<'data, 'file, Endianness>> {
    let endian = file.endian();
    let data = file.data();
    let table = file.elf_section_table();
    let names_index = file.elf_header().shstrndx(endian, data).ok()?;
    let names = table
        .section(SectionIndex(names_index as usize))
        .ok()?
        .data(endian, data)
        .ok()?;
    let name = name.as_bytes();
    let (index, _) = table.enumerate().find(|(_, header)| {
        let at = header.sh_name(endian) as usize;
        at.checked_add(name.len())
            .is_some_and(|end| names.get(at..end) == Some(name) && names.get(end) == Some(&0))
    })?;
    file.section_by_index(index).ok()
}
