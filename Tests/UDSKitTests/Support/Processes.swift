import Foundation

/// The running processes whose parent is `pid`, from /proc (Linux).
func childProcessIDs(of pid: Int32) -> [Int32] {
    guard let entries = try? FileManager.default.contentsOfDirectory(atPath: "/proc") else { return [] }
    return entries.compactMap { entry -> Int32? in
        guard let child = Int32(entry),
            let stat = try? String(contentsOfFile: "/proc/\(entry)/stat", encoding: .utf8),
            let end = stat.lastIndex(of: ")")
        else { return nil }
        // After "pid (comm)": the state, then the parent's pid. A zombie has finished already.
        let fields = stat[stat.index(after: end)...].split(separator: " ")
        guard fields.count > 1, fields[0] != "Z", Int32(fields[1]) == pid else { return nil }
        return child
    }
}
