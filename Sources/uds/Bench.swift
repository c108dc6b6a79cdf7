import ArgumentParser
import UDSKit
import UDSLoad

struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",  // spelled out: deriving it from the type costs ~0.1 ms at start
        abstract: "Load a server with messages and report throughput and latency.",
        discussion: """
            Runs a scenario of ../shared/bench/CONTRACT.md against any server of the matching protocol:
              oneshot   connections share --count exchanges: connect, send --size bytes, half-close, read the ack
              bulk      one exchange of --size bytes
              fanin     open --concurrency connections first, then send on each and read every ack
              pingpong  one framed connection: --count round trips of one frame (an echo server)
              pipeline  --concurrency framed connections write their frames back to back and read the echoes
            Every reply is checked. On a terminal a progress line runs; --json prints one JSON object instead
            of the summary.

              uds serve /tmp/app.sock --quiet &                        # eof scenarios
              uds bench /tmp/app.sock --concurrency 8 --count 50000
              uds serve /tmp/echo.sock --framed --quiet --reply echo &
              uds bench /tmp/echo.sock --scenario pingpong --duration 5
            """
    )

    @OptionGroup var socket: SocketPath

    @Option(help: "oneshot, bulk, fanin (eof servers), pingpong or pipeline (framed echo servers).")
    var scenario: LoadOptions.Scenario = .oneshot

    @Option(help: ArgumentHelp("Bytes per message or frame.", valueName: "size"))
    var size: ByteCount = ByteCount(100)

    @Option(help: "Exchanges, round trips or frames (ignored with --duration).")
    var count: Int = 20_000

    @Option(
        help: ArgumentHelp("Run oneshot or pingpong for this many seconds instead of --count.", valueName: "seconds"))
    var duration: Duration?

    @Option(help: "Connections (threads) at once.")
    var concurrency: Int = 1

    @Flag(help: "Print the result as one JSON object.")
    var json = false

    @Flag(
        help:
            "pingpong over a SOCK_SEQPACKET connection (each message one packet), against `uds serve --seqpacket --reply echo`."
    )
    var seqpacket = false

    func validate() throws {
        guard count > 0, concurrency > 0 else { throw ValidationError("--count and --concurrency must be positive") }
        if seqpacket && scenario != .pingpong { throw ValidationError("--seqpacket applies to pingpong") }
        if let duration, duration <= .zero { throw ValidationError("--duration must be positive") }
        if duration != nil && !(scenario == .oneshot || scenario == .pingpong) {
            throw ValidationError("--duration applies to oneshot and pingpong")
        }
    }

    func run() async throws {
        let address: UnixSocketAddress
        do {
            address = try socket.address()
        } catch {
            throw failure(error)
        }
        var options = LoadOptions(
            scenario: scenario, address: address, count: count, size: size.value, concurrency: concurrency,
            duration: duration)
        options.seqPacket = seqpacket
        switch scenario {
        case .bulk: options.concurrency = 1
        case .fanin: options.count = concurrency
        case .pingpong: options.concurrency = 1
        default: break
        }
        let total = options.duration == nil ? options.count : nil
        let progress = LoadProgress()
        let reporter = ProgressReporter(progress: progress, total: total, unit: scenario.unit, interactive: !json)
        reporter.start()
        let result: LoadResult
        do {
            result = try await Task.detached { try Load.run(options, progress: progress) }.value
        } catch {
            reporter.stop()
            throw failure(error)
        }
        reporter.stop()
        print(json ? BenchReport.json(options, result) : BenchReport.text(options, result))
    }
}

extension LoadOptions.Scenario {
    /// What one operation of the scenario is called.
    var unit: String {
        switch self {
        case .oneshot, .bulk, .fanin: return "exchanges"
        case .pingpong: return "round trips"
        case .pipeline: return "frames"
        }
    }
}
