import ArgumentParser

/// The project's side of ../shared/bench/CONTRACT.md, written against the public UDSKit API only.
@main
struct UDSBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "uds-bench",
        abstract: "Benchmark peer for ../shared/bench (CONTRACT.md): an eof server and the eof client scenarios.",
        subcommands: [ServerCommand.self, ClientCommand.self]
    )
}
