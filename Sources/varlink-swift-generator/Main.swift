// varlink-swift-generator: turns a varlink interface definition into Swift (see SwiftGenerator). The VarlinkGenerator
// build-tool plugin runs it for each .varlink file of a target; by hand:
//
//   varlink-swift-generator org.example.ping.varlink OrgExamplePing.swift [--access-level internal|package|public]
import Foundation
import VarlinkGeneratorCore
import VarlinkIDL

@main
struct Main {
    static func main() {
        var arguments = Array(CommandLine.arguments.dropFirst())
        var access = SwiftGenerator.AccessLevel.internal
        if let flag = arguments.firstIndex(of: "--access-level"), flag + 1 < arguments.count {
            guard let level = SwiftGenerator.AccessLevel(rawValue: arguments[flag + 1]) else {
                fail("--access-level is internal, package or public, not '\(arguments[flag + 1])'", status: 64)
            }
            access = level
            arguments.removeSubrange(flag...(flag + 1))
        }
        guard arguments.count == 2 else {
            fail(
                "usage: varlink-swift-generator INPUT.varlink OUTPUT.swift [--access-level internal|package|public]",
                status: 64)
        }
        let (input, output) = (arguments[0], arguments[1])
        let text: String
        do {
            text = try String(contentsOfFile: input, encoding: .utf8)
        } catch {
            fail("\(input): cannot read it: \(error.localizedDescription)", status: 66)
        }
        let interface: VarlinkInterface
        do {
            interface = try VarlinkInterface(parsing: text)
        } catch {
            // FILE:LINE:COLUMN: error: …, which SwiftPM and editors show at the place.
            fail("\(input):\(error.line):\(error.column): error: \(error.message)", status: 65)
        }
        let source = SwiftGenerator(interface: interface, access: access).generate(
            source: URL(fileURLWithPath: input).lastPathComponent)
        do {
            try source.write(toFile: output, atomically: true, encoding: .utf8)
        } catch {
            fail("\(output): cannot write it: \(error.localizedDescription)", status: 73)
        }
    }

    static func fail(_ message: String, status: Int32) -> Never {
        FileHandle.standardError.write(Data((message + "\n").utf8))
        exit(status)
    }
}
