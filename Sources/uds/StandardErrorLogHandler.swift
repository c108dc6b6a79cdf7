import ArgumentParser
import Logging
import SystemPackage

/// Logs one line per event on standard error: `uds: message key=value …`.
struct StandardErrorLogHandler: LogHandler {
    var logLevel: Logger.Level
    var metadata: Logger.Metadata = [:]

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var fields = metadata
        if let extra = event.metadata { fields.merge(extra) { $1 } }
        fields["uds.socket"] = nil
        let suffix = fields.sorted { $0.key < $1.key }
            .map { " \($0.key.hasPrefix("uds.") ? String($0.key.dropFirst(4)) : $0.key)=\($0.value)" }
            .joined()
        let level = event.level >= .warning ? "\(event.level): " : ""
        printError("uds: \(level)\(event.message)\(suffix)")
    }
}

extension Logger.Level: @retroactive ExpressibleByArgument {}
