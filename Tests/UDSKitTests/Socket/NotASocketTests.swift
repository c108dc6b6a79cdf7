import Foundation
import Testing
import UDSKit
import UDSKitTestSupport

extension LibraryTests {
    /// A server never deletes or changes what is at its path unless it is a socket.
    @Suite struct NotASocketTests {
        enum Occupant: String, CaseIterable, CustomStringConvertible {
            case regularFile, emptyRegularFile, directory, symlinkToFile, danglingSymlink, symlinkToStaleSocket
            var description: String { rawValue }
        }

        @Test(arguments: Occupant.allCases)
        func somethingOtherThanASocketIsLeftAloneAndStartThrowsNotASocket(occupant: Occupant) async throws {
            try await withTemporaryDirectory { directory in
                let path = directory + "/app.sock"
                let target = directory + "/target"
                try place(occupant, at: path, target: target)
                let before = try #require(FileInfo(at: path))
                let targetBefore = FileInfo(at: target)
                let contentBefore = occupant == .regularFile || occupant == .emptyRegularFile ? try readFile(path) : nil

                let server = MessageServer(address: try UnixSocketAddress(path), handler: .acknowledge)
                let error = try await #require(throws: UnixSocketError.self) { try await server.start() }
                #expect(error.code == .notASocket)
                #expect(error.description.contains(path))

                #expect(FileInfo(at: path) == before)
                #expect(FileInfo(at: target) == targetBefore)
                if let contentBefore { #expect(try readFile(path) == contentBefore) }
                if occupant == .directory {
                    #expect(try readFile(path + "/inside") == Array("keep me".utf8))
                }
                if occupant == .symlinkToFile || occupant == .danglingSymlink || occupant == .symlinkToStaleSocket {
                    #expect(try FileManager.default.destinationOfSymbolicLink(atPath: path) == target)
                }
                #expect(!fileExists(path + ".lock"))
                await server.shutdown()
                #expect(FileInfo(at: path) == before)
            }
        }

        private func place(_ occupant: Occupant, at path: String, target: String) throws {
            switch occupant {
            case .regularFile:
                try writeFile(path, payload(10_000))
            case .emptyRegularFile:
                try writeFile(path, [])
            case .directory:
                try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
                try writeFile(path + "/inside", Array("keep me".utf8))
            case .symlinkToFile:
                try writeFile(target, Array("the target".utf8))
                try FileManager.default.createSymbolicLink(atPath: path, withDestinationPath: target)
            case .danglingSymlink:
                try FileManager.default.createSymbolicLink(atPath: path, withDestinationPath: target)
            case .symlinkToStaleSocket:
                try makeStaleSocketFile(at: target)
                try FileManager.default.createSymbolicLink(atPath: path, withDestinationPath: target)
            }
        }
    }
}
