import Foundation

/// The symbols a shared library exports, read from its ELF dynamic symbol table (`.dynsym`): what
/// `nm -D --defined-only --extern-only` lists, without needing binutils on a partner's machine.
/// ELF64 little-endian only (x86-64 and AArch64 Linux, the platforms the daemon runs on); layout
/// from the System V ABI, "Object Files" (ELF header, section header, symbol table entry).
enum ELFExports {
    struct Unreadable: Error, CustomStringConvertible {
        var description: String
    }

    /// Names of defined global or weak functions and objects with default or protected visibility.
    static func functionsAndObjects(of url: URL) throws(Unreadable) -> [String] {
        let data: Data
        do {
            data = try Data(contentsOf: url, options: .mappedIfSafe)
        } catch {
            throw Unreadable(description: "cannot read \(url.path): \(error.localizedDescription)")
        }
        let bytes = [UInt8](data)
        guard bytes.count >= 64, bytes[0..<4] == [0x7F, 0x45, 0x4C, 0x46] else {
            throw Unreadable(description: "\(url.lastPathComponent) is not an ELF file")
        }
        guard bytes[4] == 2, bytes[5] == 1 else {
            throw Unreadable(description: "\(url.lastPathComponent) is not a 64-bit little-endian ELF file")
        }
        func u16(_ at: Int) -> Int { at + 2 <= bytes.count ? Int(bytes[at]) | Int(bytes[at + 1]) << 8 : 0 }
        func u32(_ at: Int) -> Int { u16(at) | u16(at + 2) << 16 }
        func u64(_ at: Int) -> Int { u32(at) | u32(at + 4) << 32 }
        // e_machine (System V gABI): 62 x86-64, 183 AArch64. A library for another machine would only
        // fail later in dlopen with "No such file or directory".
        let machines = [62: "x86-64", 183: "AArch64", 40: "ARM", 3: "x86", 243: "RISC-V", 21: "PowerPC64"]
        #if arch(x86_64)
            let host = 62
        #else
            let host = 183
        #endif
        let machine = u16(0x12)
        guard machine == host else {
            throw Unreadable(
                description:
                    "\(url.lastPathComponent) is built for \(machines[machine] ?? "ELF machine \(machine)"); this host is \(machines[host]!): build it on or for this platform"
            )
        }
        let sectionTable = u64(0x28)
        let entrySize = u16(0x3A)
        let sectionCount = u16(0x3C)
        guard entrySize >= 64, sectionTable + sectionCount * entrySize <= bytes.count else {
            throw Unreadable(description: "\(url.lastPathComponent) has a damaged section table")
        }
        func section(_ index: Int) -> (type: Int, offset: Int, size: Int, link: Int, entrySize: Int) {
            let at = sectionTable + index * entrySize
            return (u32(at + 4), u64(at + 24), u64(at + 32), u32(at + 40), u64(at + 56))
        }
        let dynamicSymbols = 11  // SHT_DYNSYM
        guard let symbols = (0..<sectionCount).map(section).first(where: { $0.type == dynamicSymbols }) else {
            return []
        }
        guard symbols.link < sectionCount else {
            throw Unreadable(description: "\(url.lastPathComponent) has a damaged symbol table")
        }
        let strings = section(symbols.link)
        let symbolSize = max(symbols.entrySize, 24)
        var names: [String] = []
        var at = symbols.offset
        while at + 24 <= min(symbols.offset + symbols.size, bytes.count) {
            defer { at += symbolSize }
            let info = Int(bytes[at + 4])
            let binding = info >> 4  // STB_GLOBAL 1, STB_WEAK 2
            let type = info & 0xF  // STT_OBJECT 1, STT_FUNC 2, STT_GNU_IFUNC 10
            let visibility = Int(bytes[at + 5]) & 3  // STV_DEFAULT 0, STV_PROTECTED 3
            let sectionIndex = u16(at + 6)  // SHN_UNDEF 0: imported, not exported
            guard binding == 1 || binding == 2, [1, 2, 10].contains(type), visibility == 0 || visibility == 3,
                sectionIndex != 0
            else { continue }
            let start = strings.offset + u32(at)
            guard start < bytes.count else { continue }
            let end = bytes[start...].firstIndex(of: 0) ?? bytes.count
            names.append(String(decoding: bytes[start..<end], as: UTF8.self))
        }
        return names.sorted()
    }
}
