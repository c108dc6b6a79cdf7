import SystemPackage

#if canImport(Glibc)
    @preconcurrency import Glibc
#elseif canImport(Musl)
    @preconcurrency import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// What the command-line tools (`uds`, `uds-bench`) need from the C library besides sockets: user and group names,
/// terminals, temporary files, number formatting, resource limits. `package`: not part of UDSKit's API.
extension Syscall {
    /// The ID of the user called `name` in the system's user database (`getpwnam_r(3)`, so NSS sources such as
    /// LDAP count too), or `nil` when there is none.
    package static func userID(named name: String) -> UInt32? {
        var entry = passwd()
        var found: UnsafeMutablePointer<passwd>? = nil
        var buffer = [CChar](repeating: 0, count: 16 * 1024)
        guard getpwnam_r(name, &entry, &buffer, buffer.count, &found) == 0, found != nil else { return nil }
        return UInt32(entry.pw_uid)
    }

    /// The ID of the group called `name` (`getgrnam_r(3)`), or `nil` when there is none.
    package static func groupID(named name: String) -> UInt32? {
        var entry = group()
        var found: UnsafeMutablePointer<group>? = nil
        var buffer = [CChar](repeating: 0, count: 16 * 1024)
        guard getgrnam_r(name, &entry, &buffer, buffer.count, &found) == 0, found != nil else { return nil }
        return UInt32(entry.gr_gid)
    }

    /// The name of user `id` (`getpwuid_r(3)`), or `nil` when it has none.
    package static func userName(of id: UInt32) -> String? {
        var entry = passwd()
        var found: UnsafeMutablePointer<passwd>? = nil
        var buffer = [CChar](repeating: 0, count: 16 * 1024)
        guard getpwuid_r(uid_t(id), &entry, &buffer, buffer.count, &found) == 0, found != nil else { return nil }
        return String(cString: entry.pw_name)
    }

    /// The name of group `id` (`getgrgid_r(3)`), or `nil` when it has none.
    package static func groupName(of id: UInt32) -> String? {
        var entry = group()
        var found: UnsafeMutablePointer<group>? = nil
        var buffer = [CChar](repeating: 0, count: 16 * 1024)
        guard getgrgid_r(gid_t(id), &entry, &buffer, buffer.count, &found) == 0, found != nil else { return nil }
        return String(cString: entry.gr_name)
    }

    /// Whether `descriptor` is a terminal (`isatty(3)`).
    package static func isTerminal(_ descriptor: FileDescriptor) -> Bool {
        isatty(descriptor.rawValue) == 1
    }

    /// A new temporary file in `directory`, already unlinked, open for reading and writing (`mkstemp(3)`); it is
    /// gone once closed. The caller owns the descriptor.
    package static func makeUnlinkedTemporaryFile(in directory: String) throws(Errno) -> FileDescriptor {
        var template = Array((directory + "/uds-XXXXXX").utf8CString)
        let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
        guard fd >= 0 else { throw Errno(rawValue: errno) }
        setCloseOnExec(fd)
        try? unlink(String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self))
        return FileDescriptor(rawValue: fd)
    }

    /// `value` with exactly `digits` decimals, as `printf("%.*f")` writes it (correctly rounded, without Foundation).
    package static func formatFixed(_ value: Double, digits: Int) -> String {
        var buffer = [CChar](repeating: 0, count: 64)
        let written = withVaList([Int32(digits), value]) { arguments in
            buffer.withUnsafeMutableBufferPointer { vsnprintf($0.baseAddress, $0.count, "%.*f", arguments) }
        }
        guard written >= 0 else { return "\(value)" }
        if Int(written) >= buffer.count {  // a huge value: ask again with room for all of it
            buffer = [CChar](repeating: 0, count: Int(written) + 1)
            _ = withVaList([Int32(digits), value]) { arguments in
                buffer.withUnsafeMutableBufferPointer { vsnprintf($0.baseAddress, $0.count, "%.*f", arguments) }
            }
        }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// This process's environment as `NAME=value` strings (`environ`).
    package static func environmentEntries() -> [String] {
        var entries: [String] = []
        #if canImport(Darwin)
            var entry = _NSGetEnviron().pointee!
        #else
            var entry = environ
        #endif
        while let pointer = entry.pointee {
            entries.append(String(cString: pointer))
            entry += 1
        }
        return entries
    }

    /// Raises the soft limit on open descriptors to the hard limit (`setrlimit(2)`, `RLIMIT_NOFILE`); does nothing
    /// when it is there already or the call fails.
    package static func raiseOpenFileLimit() {
        var limit = rlimit()
        #if os(Linux)
            let resource = __rlimit_resource_t(RLIMIT_NOFILE.rawValue)
        #else
            let resource = RLIMIT_NOFILE
        #endif
        guard getrlimit(resource, &limit) == 0, limit.rlim_cur < limit.rlim_max else { return }
        limit.rlim_cur = limit.rlim_max
        _ = setrlimit(resource, &limit)
    }
}
