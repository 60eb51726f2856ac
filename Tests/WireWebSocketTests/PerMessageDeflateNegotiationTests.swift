import PropertyBased
import Testing
import WireCore
@testable import WireWebSocket

typealias PMDParams = PerMessageDeflateParameters
typealias PMDOffer = PerMessageDeflateClientOffer.Offer
typealias PMDPolicy = PerMessageDeflateServerPolicy
typealias PMDNegotiationError = PerMessageDeflateNegotiationError

private func answer(_ policy: PMDPolicy = PMDPolicy(), _ lines: String...) -> PMDPolicy.Outcome {
    policy.negotiate(requestLines: lines)
}

@Suite struct PerMessageDeflateNegotiationTests {
    // MARK: Parameters

    @Test func roleHelpersSpeakSendAndReceive() {
        let p = PMDParams(serverNoContextTakeover: true, clientNoContextTakeover: false, serverMaxWindowBits: 10, clientMaxWindowBits: 12)
        #expect(p.sendWindowBits(as: .server) == 10 && p.receiveWindowBits(as: .server) == 12)
        #expect(p.sendWindowBits(as: .client) == 12 && p.receiveWindowBits(as: .client) == 10)
        #expect(p.sendNoContextTakeover(as: .server) && !p.receiveNoContextTakeover(as: .server))
        #expect(!p.sendNoContextTakeover(as: .client) && p.receiveNoContextTakeover(as: .client))
        #expect(p.description == "permessage-deflate; server_no_context_takeover; server_max_window_bits=10; client_max_window_bits=12")
        #expect(PMDParams().description == "permessage-deflate")
    }

    @Test func parametersParseFromAgreedText() throws {
        let p = try PMDParams(parsing: "permessage-deflate; client_no_context_takeover; server_max_window_bits=9")
        #expect(p == PMDParams(clientNoContextTakeover: true, serverMaxWindowBits: 9))
        #expect(try PMDParams(parsing: p.description) == p)
        #expect(throws: PMDNegotiationError(.invalidValue, parameter: "client_max_window_bits")) {
            try PMDParams(parsing: "permessage-deflate; client_max_window_bits")
        }
        #expect(throws: PMDNegotiationError(.unexpectedExtension)) { try PMDParams(parsing: "x-deflate") }
        #expect((try? PMDParams(parsing: "permessage-deflate;")) == nil)
    }

    // MARK: Server

    /// RFC 7692 §7.1 / §5.2 style: a plain offer is accepted as is.
    @Test func plainOfferIsAcceptedAsIs() {
        let outcome = answer(PMDPolicy(), "permessage-deflate")
        #expect(outcome.acceptance?.parameters == PMDParams())
        #expect(outcome.acceptance?.headerValue == "permessage-deflate")
        #expect(outcome.declined.isEmpty)
    }

    /// RFC 7692 §5.2: offers in preference order with a fallback.
    @Test func firstAcceptableOfferWinsAndFallbacksFollow() {
        let outcome = answer(
            PMDPolicy(),
            "permessage-deflate; client_max_window_bits; server_max_window_bits=10, permessage-deflate; client_max_window_bits")
        #expect(outcome.acceptance?.offerIndex == 0)
        #expect(outcome.acceptance?.parameters == PMDParams(serverMaxWindowBits: 10))
        #expect(outcome.acceptance?.headerValue == "permessage-deflate; server_max_window_bits=10")

        // The first offer demands a window of 8 for our compressor: declined, fallback taken.
        let fallback = answer(
            PMDPolicy(), "permessage-deflate; server_max_window_bits=8", "permessage-deflate; client_max_window_bits")
        #expect(fallback.acceptance?.offerIndex == 1)
        #expect(fallback.acceptance?.parameters == PMDParams())
        #expect(fallback.declined == [PMDPolicy.Declined(offerIndex: 0, reason: PMDNegotiationError(.windowBits8Unsupported, parameter: "server_max_window_bits"))])
    }

    struct Declines: Sendable, CustomTestStringConvertible {
        var offer: String
        var reason: PMDNegotiationError
        var testDescription: String { offer }
    }

    @Test(arguments: [
        Declines(offer: "permessage-deflate; x=1", reason: .init(.unknownParameter, parameter: "x")),
        Declines(offer: "permessage-deflate; server_no_context_takeover; Server_No_Context_Takeover",
                 reason: .init(.duplicateParameter, parameter: "Server_No_Context_Takeover")),
        Declines(offer: "permessage-deflate; client_max_window_bits; client_max_window_bits=10",
                 reason: .init(.duplicateParameter, parameter: "client_max_window_bits")),
        Declines(offer: "permessage-deflate; server_max_window_bits", reason: .init(.invalidValue, parameter: "server_max_window_bits")),
        Declines(offer: "permessage-deflate; server_max_window_bits=7", reason: .init(.invalidValue, parameter: "server_max_window_bits")),
        Declines(offer: "permessage-deflate; server_max_window_bits=16", reason: .init(.invalidValue, parameter: "server_max_window_bits")),
        Declines(offer: "permessage-deflate; server_max_window_bits=+9", reason: .init(.invalidValue, parameter: "server_max_window_bits")),
        Declines(offer: "permessage-deflate; client_max_window_bits=0x9", reason: .init(.invalidValue, parameter: "client_max_window_bits")),
        Declines(offer: "permessage-deflate; client_max_window_bits=99999999999999999999", reason: .init(.invalidValue, parameter: "client_max_window_bits")),
        Declines(offer: "permessage-deflate; client_no_context_takeover=1", reason: .init(.invalidValue, parameter: "client_no_context_takeover")),
        Declines(offer: "permessage-deflate; server_no_context_takeover=\"x\"", reason: .init(.invalidValue, parameter: "server_no_context_takeover")),
        Declines(offer: "permessage-deflate; server_max_window_bits=8", reason: .init(.windowBits8Unsupported, parameter: "server_max_window_bits")),
        Declines(offer: "permessage-deflate; a b", reason: .init(.malformed, syntax: ExtensionHeaderError(.unexpectedCharacter, offset: 22))),
    ])
    func badOffersAreDeclinedWithAReasonAndTheNextIsTaken(_ c: Declines) {
        let outcome = answer(PMDPolicy(), c.offer + ", x-other, permessage-deflate")
        #expect(outcome.declined == [PMDPolicy.Declined(offerIndex: 0, reason: c.reason)])
        #expect(outcome.acceptance?.offerIndex == 1)
        #expect(outcome.acceptance?.parameters == PMDParams())
    }

    @Test func quotedValuesAndCaseAreAccepted() {
        let outcome = answer(PMDPolicy(), "PERMESSAGE-DEFLATE; Server_Max_Window_Bits=\"10\"; CLIENT_MAX_WINDOW_BITS")
        #expect(outcome.acceptance?.parameters == PMDParams(serverMaxWindowBits: 10))
    }

    @Test func disabledPolicyDeclinesEverything() {
        let outcome = answer(PMDPolicy(isEnabled: false), "permessage-deflate, permessage-deflate; client_max_window_bits")
        #expect(outcome.acceptance == nil)
        #expect(outcome.declined.map(\.reason.code) == [.disabled, .disabled])
        #expect(answer(PMDPolicy(), "x-webkit-deflate-frame").acceptance == nil)
    }

    @Test func policyLimitsAndNoContextTakeover() {
        let policy = PMDPolicy(maxServerWindowBits: 10, maxClientWindowBits: 9, serverNoContextTakeover: true, clientNoContextTakeover: true)
        // Valueless client_max_window_bits: we may set the client's limit.
        let a = answer(policy, "permessage-deflate; client_max_window_bits").acceptance
        #expect(a?.parameters == PMDParams(serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 10, clientMaxWindowBits: 9))
        #expect(a?.headerValue == "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10; client_max_window_bits=9")
        // Not offered: RFC 7692 §7.1.2.2 forbids answering it; the client may use 15.
        let b = answer(policy, "permessage-deflate").acceptance
        #expect(b?.parameters.clientMaxWindowBits == 15)
        #expect(b?.headerValue == "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10")
        // A client hint below our cap is kept and echoed.
        let c = answer(PMDPolicy(), "permessage-deflate; client_max_window_bits=8").acceptance
        #expect(c?.parameters.clientMaxWindowBits == 8)
        #expect(c?.headerValue == "permessage-deflate; client_max_window_bits=8")
        // A server window request above our cap is answered with our cap.
        let d = answer(policy, "permessage-deflate; server_max_window_bits=12").acceptance
        #expect(d?.parameters.serverMaxWindowBits == 10)
        // Our compressor is never configured for 8, even if the policy says so.
        let e = answer(PMDPolicy(maxServerWindowBits: 8), "permessage-deflate").acceptance
        #expect(e?.parameters.serverMaxWindowBits == 9)
    }

    // MARK: Client

    @Test func defaultOfferIsTheBrowserOne() {
        #expect(PerMessageDeflateClientOffer().headerValue == "permessage-deflate; client_max_window_bits")
        let all = PerMessageDeflateClientOffer([
            PMDOffer(requestServerNoContextTakeover: true, clientNoContextTakeover: true, requestServerMaxWindowBits: 10, clientMaxWindowBits: .limit(12)),
            PMDOffer(clientMaxWindowBits: .notOffered),
        ])
        #expect(all.headerValue == "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10; client_max_window_bits=12, permessage-deflate")
    }

    struct Answer: Sendable, CustomTestStringConvertible {
        var offer: PMDOffer
        var answer: String
        var expected: Result<PMDParams, PMDNegotiationError>
        var testDescription: String { "\(offer.extension.headerValue) ← \(answer)" }
    }

    /// The per-parameter rules of RFC 7692 §7.1.1–§7.1.2 for the client's check of the answer.
    @Test(arguments: [
        // server_no_context_takeover
        Answer(offer: PMDOffer(), answer: "permessage-deflate; server_no_context_takeover", expected: .success(PMDParams(serverNoContextTakeover: true))),
        Answer(offer: PMDOffer(requestServerNoContextTakeover: true), answer: "permessage-deflate",
               expected: .failure(.init(.missingParameter, parameter: "server_no_context_takeover"))),
        Answer(offer: PMDOffer(requestServerNoContextTakeover: true), answer: "permessage-deflate; server_no_context_takeover",
               expected: .success(PMDParams(serverNoContextTakeover: true))),
        // client_no_context_takeover
        Answer(offer: PMDOffer(), answer: "permessage-deflate; client_no_context_takeover", expected: .success(PMDParams(clientNoContextTakeover: true))),
        Answer(offer: PMDOffer(clientNoContextTakeover: true), answer: "permessage-deflate", expected: .success(PMDParams(clientNoContextTakeover: true))),
        // server_max_window_bits
        Answer(offer: PMDOffer(), answer: "permessage-deflate; server_max_window_bits=8", expected: .success(PMDParams(serverMaxWindowBits: 8))),
        Answer(offer: PMDOffer(requestServerMaxWindowBits: 10), answer: "permessage-deflate",
               expected: .failure(.init(.missingParameter, parameter: "server_max_window_bits"))),
        Answer(offer: PMDOffer(requestServerMaxWindowBits: 10), answer: "permessage-deflate; server_max_window_bits=9", expected: .success(PMDParams(serverMaxWindowBits: 9))),
        Answer(offer: PMDOffer(requestServerMaxWindowBits: 10), answer: "permessage-deflate; server_max_window_bits=11",
               expected: .failure(.init(.parameterNotOffered, parameter: "server_max_window_bits"))),
        Answer(offer: PMDOffer(), answer: "permessage-deflate; server_max_window_bits=16", expected: .failure(.init(.invalidValue, parameter: "server_max_window_bits"))),
        // client_max_window_bits
        Answer(offer: PMDOffer(clientMaxWindowBits: .notOffered), answer: "permessage-deflate; client_max_window_bits=10",
               expected: .failure(.init(.parameterNotOffered, parameter: "client_max_window_bits"))),
        Answer(offer: PMDOffer(), answer: "permessage-deflate", expected: .success(PMDParams())),
        Answer(offer: PMDOffer(), answer: "permessage-deflate; client_max_window_bits=10", expected: .success(PMDParams(clientMaxWindowBits: 10))),
        Answer(offer: PMDOffer(), answer: "permessage-deflate; client_max_window_bits", expected: .failure(.init(.invalidValue, parameter: "client_max_window_bits"))),
        Answer(offer: PMDOffer(), answer: "permessage-deflate; client_max_window_bits=8",
               expected: .failure(.init(.windowBits8Unsupported, parameter: "client_max_window_bits"))),
        Answer(offer: PMDOffer(clientMaxWindowBits: .limit(12)), answer: "permessage-deflate", expected: .success(PMDParams(clientMaxWindowBits: 12))),
        Answer(offer: PMDOffer(clientMaxWindowBits: .limit(12)), answer: "permessage-deflate; client_max_window_bits=11", expected: .success(PMDParams(clientMaxWindowBits: 11))),
        Answer(offer: PMDOffer(clientMaxWindowBits: .limit(12)), answer: "permessage-deflate; client_max_window_bits=13",
               expected: .failure(.init(.parameterNotOffered, parameter: "client_max_window_bits"))),
        // general rules
        Answer(offer: PMDOffer(), answer: "permessage-deflate; x", expected: .failure(.init(.unknownParameter, parameter: "x"))),
        Answer(offer: PMDOffer(), answer: "permessage-deflate; server_max_window_bits=9; server_max_window_bits=9",
               expected: .failure(.init(.duplicateParameter, parameter: "server_max_window_bits"))),
        Answer(offer: PMDOffer(), answer: "permessage-deflate, permessage-deflate", expected: .failure(.init(.multipleAnswers))),
        Answer(offer: PMDOffer(), answer: "permessage-deflate, x-other", expected: .failure(.init(.unexpectedExtension, parameter: "x-other"))),
        Answer(offer: PMDOffer(), answer: "permessage-deflate;", expected: .failure(.init(.malformed, syntax: ExtensionHeaderError(.expectedParameterName, offset: 19)))),
    ])
    func answerValidation(_ c: Answer) {
        let result = Result { () throws(PMDNegotiationError) in
            try PerMessageDeflateClientOffer([c.offer]).validate(answerLines: [c.answer])
        }
        switch (result, c.expected) {
        case (.success(let got), .success(let want)): #expect(got == want)
        case (.failure(let got), .failure(let want)): #expect(got == want)
        default: Issue.record("got \(result), expected \(c.expected)")
        }
    }

    @Test func noAnswerMeansNotAccepted() throws {
        #expect(try PerMessageDeflateClientOffer().validate(answerLines: []) == nil)
        #expect(try PerMessageDeflateClientOffer().validate(answerLines: [" "]) == nil)
    }

    @Test func answerIsMatchedAgainstFallbackOffers() throws {
        let offer = PerMessageDeflateClientOffer([
            PMDOffer(requestServerNoContextTakeover: true, clientMaxWindowBits: .notOffered),
            PMDOffer(),
        ])
        // Fits only the second offer (the first did not allow client_max_window_bits).
        #expect(try offer.validate(answerLines: ["permessage-deflate; client_max_window_bits=10"]) == PMDParams(clientMaxWindowBits: 10))
        // Fits neither: the first offer's reason.
        #expect(throws: PMDNegotiationError(.unknownParameter, parameter: "y")) {
            try offer.validate(answerLines: ["permessage-deflate; y"])
        }
    }

    /// Our server's answer to any offer our client makes is accepted by our client with the
    /// same parameters (or refused only because it gives the client's compressor 8 bits).
    @Test func ourClientAcceptsOurServersAnswers() async {
        let window = Gen.int(in: 7...15)    // 7 means "not set"
        let offerGen = zip(Gen.bool, Gen.bool, window, Gen.int(in: 7...15))
        let policyGen = zip(Gen.int(in: 8...15), Gen.int(in: 8...15), Gen.bool, Gen.bool)
        await propertyCheck(count: 400, input: offerGen, policyGen) { o, p in
            let clientWindow: PMDOffer.ClientWindow = switch o.3 {
            case 7: .notOffered
            case 8: .negotiable
            default: .limit(o.3)
            }
            let offer = PMDOffer(requestServerNoContextTakeover: o.0, clientNoContextTakeover: o.1,
                              requestServerMaxWindowBits: o.2 == 7 ? nil : o.2, clientMaxWindowBits: clientWindow)
            let policy = PMDPolicy(maxServerWindowBits: p.0, maxClientWindowBits: p.1, serverNoContextTakeover: p.2, clientNoContextTakeover: p.3)
            let outcome = policy.negotiate(offers: [.valid(offer.extension)])
            guard let acceptance = outcome.acceptance else {
                #expect(outcome.declined.map(\.reason.code) == [.windowBits8Unsupported])
                #expect(offer.requestServerMaxWindowBits == 8)
                return
            }
            let client = Result { () throws(PMDNegotiationError) in
                try PerMessageDeflateClientOffer([offer]).validate(answerLines: [acceptance.headerValue])
            }
            switch client {
            case .success(let agreed): #expect(agreed == acceptance.parameters)
            case .failure(let error):
                #expect(error.code == .windowBits8Unsupported)
                #expect(acceptance.parameters.clientMaxWindowBits == 8)
            }
            #expect(acceptance.parameters.serverMaxWindowBits >= 9)
        }
    }
}
