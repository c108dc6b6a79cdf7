import UDSKit

/// Numbers as the CLI prints them, formatted by the C library rather than Foundation (no `String(format:)`, no
/// `NumberFormatter`), so that `uds` links no Foundation.
enum NumberFormat {
    /// `value` with exactly `digits` decimals, as `printf("%.*f")` writes it: `fixed(2.25, digits: 1)` is `"2.2"`.
    static func fixed(_ value: Double, digits: Int) -> String {
        Syscall.formatFixed(value, digits: digits)
    }

    /// `value` rounded to a whole number (half to even) with a comma between groups of three digits:
    /// `grouped(1234567.5)` is `"1,234,568"`.
    static func grouped(_ value: Double) -> String {
        guard value.isFinite, abs(value) < 9e18 else { return "\(value)" }
        let whole = Int(value.rounded(.toNearestOrEven))
        let digits = String(whole.magnitude)
        var result = ""
        for (index, digit) in digits.enumerated() {
            if index > 0 && (digits.count - index) % 3 == 0 { result.append(",") }
            result.append(digit)
        }
        return whole < 0 ? "-" + result : result
    }
}
