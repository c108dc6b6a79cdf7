import ArgumentParser
import UDSKit

/// The socket argument of every subcommand.
struct SocketPath: ParsableArguments {
    @Argument(help: "The socket file (or @name for a Linux abstract name).")
    var path: String

    /// The address `path` names. Throws for a path too long or malformed, which `failure(_:)` reports.
    func address() throws -> UnixSocketAddress { try UnixSocketAddress(path) }
}

/// The kind of socket `uds serve` and `uds send` use; without one of these flags, a stream with one message per
/// connection.
enum Transport: String, EnumerableFlag {
    case framed, seqpacket, datagram

    static func help(for value: Transport) -> ArgumentHelp? {
        switch value {
        case .framed:
            return "Frames (4-byte big-endian length, then the payload), any number on a connection that stays open."
        case .seqpacket:
            return "SOCK_SEQPACKET: a connection that stays open, each packet one message, each answer one packet."
        case .datagram:
            return "SOCK_DGRAM: each datagram one message; a sender with an address gets the answer as a datagram."
        }
    }

    /// The flag as typed: `--framed`.
    var flag: String { "--" + rawValue }
}

/// Limits of the subcommands that send to a server and read its replies (`send`, `connect`).
struct ClientLimits: ParsableArguments {
    @Option(
        help: ArgumentHelp("Seconds to wait for the connection and (uds send) for each reply.", valueName: "seconds"))
    var timeout: Duration?

    @Option(
        name: [.customLong("max-reply"), .customLong("max-frame")],
        help: ArgumentHelp("Largest reply (message, frame or packet) accepted.", valueName: "size"))
    var maxReply: ByteCount = ByteCount(Send.defaultMaximumReply)

    func validate() throws {
        if let timeout, timeout <= .zero { throw ValidationError("--timeout must be positive") }
        if maxReply.value <= 0 { throw ValidationError("--max-reply must be positive") }
    }
}

/// A time on the command line, in seconds: `0.5`, `30`, or with a unit, `250ms`, `2s`, `5m`, `1h`. Never negative.
extension Duration: @retroactive ExpressibleByArgument {
    public init?(argument: String) {
        let units: [(suffix: String, seconds: Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)]
        let unit = units.first { argument.hasSuffix($0.suffix) } ?? ("", 1)
        guard let number = Double(argument.dropLast(unit.suffix.count)), number.isFinite, number >= 0 else {
            return nil
        }
        let nanoseconds = (number * unit.seconds * 1e9).rounded()
        guard nanoseconds < Double(Int64.max) else { return nil }
        self = .nanoseconds(Int64(nanoseconds))
    }

    public var defaultValueDescription: String {
        let (seconds, attoseconds) = components
        guard attoseconds != 0 else { return "\(seconds)" }
        let text = NumberFormat.fixed(Double(seconds) + Double(attoseconds) / 1e18, digits: 3)
        return String(text.reversed().drop { $0 == "0" }.reversed())  // 0.500 reads 0.5
    }
}
