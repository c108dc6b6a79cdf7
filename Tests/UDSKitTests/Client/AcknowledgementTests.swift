import NIOCore
import Testing
import UDSKit

extension LibraryTests {
    /// The acknowledgement protocol, without a socket: "<count>\n", or "error: <reason>\n".
    @Suite struct AcknowledgementTests {
        @Test(arguments: [0, 5, 1_048_576, Int.max])
        func replyForByteCountIsTheCountAndANewline(count: Int) {
            let reply = Acknowledgement.reply(forByteCount: count)
            #expect(reply.string == "\(count)\n")
            #expect(Acknowledgement.byteCount(in: reply) == count)
            #expect(Acknowledgement.errorReason(in: reply) == nil)
        }

        @Test(arguments: [
            "", "\n", "5", "5\n\n", " 5\n", "5 \n", "-5\n", "+5\n", "0x5\n", "five\n", "5\r\n",
            "99999999999999999999\n", "9223372036854775808\n", "error: 5\n", "٥\n",
        ])
        func byteCountRejectsAnythingButDigitsAndOneNewline(text: String) {
            #expect(Acknowledgement.byteCount(in: Message(text)) == nil)
        }

        @Test func byteCountAcceptsLeadingZeros() {
            #expect(Acknowledgement.byteCount(in: "007\n") == 7)
        }

        @Test func errorReplyCarriesItsReason() {
            let reply = Acknowledgement.errorReply("disk full")
            #expect(reply.string == "error: disk full\n")
            #expect(Acknowledgement.errorReason(in: reply) == "disk full")
            #expect(Acknowledgement.byteCount(in: reply) == nil)
        }

        @Test func errorReasonWithoutATrailingNewlineIsStillRead() {
            #expect(Acknowledgement.errorReason(in: "error: cut short") == "cut short")
            #expect(Acknowledgement.errorReason(in: "error: \n") == "")
        }

        @Test(arguments: ["5\n", "", "Error: x\n", "error:x\n", " error: x\n"])
        func errorReasonIsNilForAnythingElse(text: String) {
            #expect(Acknowledgement.errorReason(in: Message(text)) == nil)
        }

        @Test func verifyAcceptsTheExactCount() throws {
            try Acknowledgement.verify("5\n", sentCount: 5, socket: "/tmp/x.sock")
            try Acknowledgement.verify("0\n", sentCount: 0, socket: nil)
        }

        @Test func verifyThrowsNotAcknowledgedForAnotherCount() throws {
            let error = try #require(throws: UnixSocketError.self) {
                try Acknowledgement.verify("3\n", sentCount: 5, socket: "/tmp/x.sock")
            }
            #expect(error.code == .notAcknowledged)
            #expect(error.socket == "/tmp/x.sock")
            #expect(error.description.contains("3"))
            #expect(error.description.contains("5"))
        }

        @Test func verifyThrowsServerErrorForAnErrorReply() throws {
            let error = try #require(throws: UnixSocketError.self) {
                try Acknowledgement.verify("error: quota exceeded\n", sentCount: 5, socket: nil)
            }
            #expect(error.code == .serverError)
            #expect(error.detail == "quota exceeded")
            #expect(error.description.contains("quota exceeded"))
        }

        @Test(arguments: ["", "ok\n", "5"])
        func verifyThrowsNotAcknowledgedForANonAcknowledgement(text: String) throws {
            let error = try #require(throws: UnixSocketError.self) {
                try Acknowledgement.verify(Message(text), sentCount: 5, socket: nil)
            }
            #expect(error.code == .notAcknowledged)
        }

        @Test func verifyDescribesAnEmptyReplyAsNoReply() throws {
            let error = try #require(throws: UnixSocketError.self) {
                try Acknowledgement.verify(.empty, sentCount: 1, socket: nil)
            }
            #expect(error.detail?.contains("without replying") == true)
        }
    }
}
