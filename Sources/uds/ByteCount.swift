import ArgumentParser

/// A size on the command line: `65536`, `64k`, `64KiB`, `16M`, `1GiB` (powers of 1024).
struct ByteCount: ExpressibleByArgument, CustomStringConvertible {
    var value: Int

    init(_ value: Int) { self.value = value }

    init?(argument: String) {
        let text = argument.lowercased()
        let digits = text.prefix { $0.isNumber }
        guard let number = Int(digits), !digits.isEmpty else { return nil }
        let unit = String(text.dropFirst(digits.count))
        let multipliers: [String: Int] = [
            "": 1, "b": 1, "k": 1 << 10, "kb": 1 << 10, "kib": 1 << 10, "m": 1 << 20, "mb": 1 << 20, "mib": 1 << 20,
            "g": 1 << 30, "gb": 1 << 30, "gib": 1 << 30,
        ]
        guard let multiplier = multipliers[unit] else { return nil }
        let (result, overflow) = number.multipliedReportingOverflow(by: multiplier)
        guard !overflow else { return nil }
        value = result
    }

    var description: String {
        for (unit, size) in [("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)]
        where value >= size && value % size == 0 {
            return "\(value / size)\(unit)"
        }
        return "\(value)"
    }
}
