import ChorusCore
import ChorusProviders
import Foundation
import Testing

@Suite("Registry files and the built-in registry", .timeLimit(.minutes(1)))
struct RegistryLoaderTests {
    /// Writes `json` to a fresh temporary file and returns its path.
    func write(_ json: String) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("registry-\(UUID().uuidString).json")
            .path
        try Data(json.utf8).write(to: URL(fileURLWithPath: path))
        return path
    }

    /// Loads `json` from a file and returns the error description, or nil when it loaded.
    func loadError(_ json: String) throws -> (path: String, message: String?) {
        let path = try write(json)
        defer { try? FileManager.default.removeItem(atPath: path) }
        do {
            _ = try RegistryLoader.load(path: path)
            return (path, nil)
        } catch {
            return (path, error.description)
        }
    }

    static let validFile = """
        {
          "models": [
            {
              "name": "pegasus",
              "provider": "demo",
              "upstream_model": "pegasus1.2",
              "description": "slow and thorough",
              "timeouts": { "first_chunk_ms": 2000, "idle_ms": 750, "total_ms": 45000 },
              "demo": { "first_chunk_delay_ms": 900, "chunk_interval_ms": 40, "answer_words": [100, 140], "words_per_chunk": 2,
                        "fail": { "after_chunks": 4, "code": "unavailable", "message": "flaky" } }
            },
            { "name": "gemini", "provider": "demo", "available": false }
          ],
          "recommendations": {
            "rules": [ { "keywords": ["scene"], "models": ["pegasus"] } ],
            "fallback": ["gemini", "pegasus"]
          }
        }
        """

    @Test("a valid file becomes a registry with its settings, profiles and table")
    func valid() throws {
        let path = try write(Self.validFile)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let registry = try RegistryLoader.load(path: path)
        #expect(registry.names == ["gemini", "pegasus"])

        let pegasus = try #require(registry["pegasus"])
        #expect(
            pegasus.settings
                == ModelSettings(
                    firstChunkTimeout: .milliseconds(2_000), idleTimeout: .milliseconds(750),
                    totalTimeout: .milliseconds(45_000),
                    demo: true, available: true, upstreamModel: "pegasus1.2", description: "slow and thorough"
                ))
        let provider = try #require(pegasus.provider as? DemoProvider)
        #expect(
            provider.profile
                == DemoProfile(
                    firstChunkDelay: .milliseconds(900), chunkInterval: .milliseconds(40), answerWords: 100...140,
                    wordsPerChunk: 2...2,
                    failure: DemoProfile.Failure(afterChunks: 4, error: ChorusError(.unavailable, "flaky"))
                ))

        let gemini = try #require(registry["gemini"])
        #expect(gemini.settings.available == false)
        #expect(gemini.settings.totalTimeout == ModelSettings().totalTimeout)
        #expect((gemini.provider as? DemoProvider)?.profile == DemoProfile())
        #expect(
            registry.recommendations
                == RecommendationTable(
                    rules: [.init(keywords: ["scene"], models: ["pegasus"])], fallback: ["gemini", "pegasus"]))
    }

    @Test("without recommendations: the default table when it fits, otherwise every model")
    func defaultRecommendations() throws {
        let all = try RegistryLoader.load(
            data: Data(
                #"{"models":[{"name":"gemini","provider":"demo"},{"name":"pegasus","provider":"demo"},{"name":"gpt4o","provider":"demo"}]}"#
                    .utf8), source: "inline")
        #expect(all.recommendations == .default)
        let one = try RegistryLoader.load(
            data: Data(#"{"models":[{"name":"solo","provider":"demo"}]}"#.utf8), source: "inline")
        #expect(one.recommendations == RecommendationTable(rules: [], fallback: ["solo"]))
    }

    @Test("an unknown provider is named along with the file and the field")
    func unknownProvider() throws {
        let (path, message) = try loadError(
            #"{"models":[{"name":"gemini","provider":"demo"},{"name":"gpt5","provider":"acme"}]}"#)
        #expect(
            message
                == "\(path): models[1].provider: unknown provider 'acme' for model 'gpt5'; supported: demo, openai, openai-compatible, gemini, twelvelabs"
        )
    }

    @Test("malformed JSON is reported as such")
    func badJSON() throws {
        let (path, message) = try loadError(#"{"models": [ {"name": "gemini", } "#)
        #expect(message?.hasPrefix("\(path): not valid JSON") == true)
    }

    @Test("a recommendation naming an unknown model points at the entry")
    func unknownRecommendedModel() throws {
        let (path, message) = try loadError(
            """
            {"models":[{"name":"gemini","provider":"demo"},{"name":"pegasus","provider":"demo"}],
             "recommendations":{"rules":[{"keywords":["video"],"models":["pegasus","gpt5"]}],"fallback":["gemini"]}}
            """)
        #expect(
            message == "\(path): recommendations.rules[0].models[1]: unknown model 'gpt5'; defined: gemini, pegasus")
    }

    @Test(
        "field-level mistakes name the field",
        arguments: [
            (
                #"{"models":[{"name":"g","provider":"demo","timeouts":{"idle_msec":5}}]}"#,
                "models[0].timeouts.idle_msec: unknown field 'idle_msec'; known fields: connect_ms, first_chunk_ms, idle_ms, total_ms"
            ),
            (
                #"{"models":[{"name":"g","provider":"demo","timeouts":{"idle_ms":"5"}}]}"#,
                "models[0].timeouts.idle_ms: expected a number"
            ),
            (
                #"{"models":[{"name":"g","provider":"demo","timeouts":{"idle_ms":0}}]}"#,
                "models[0].timeouts.idle_ms: must be a positive number of milliseconds, got 0"
            ),
            (#"{"models":[{"name":"g"}]}"#, "models[0].provider: missing required field"),
            (
                #"{"models":[{"name":"Gemini","provider":"demo"}]}"#,
                "models[0].name: invalid model name 'Gemini': use 1–64 lowercase letters, digits, '-', '_' or '.'"
            ),
            (
                #"{"models":[{"name":"g","provider":"demo"},{"name":"g","provider":"demo"}]}"#,
                "models[1].name: model 'g' is already defined at models[0]"
            ),
            (#"{"models":[]}"#, "models: must list at least one model"),
            (
                #"{"models":[{"name":"g","provider":"demo","demo":{"answer_words":[9,3]}}]}"#,
                "models[0].demo.answer_words: needs 1 ≤ min ≤ max, got [9, 3]"
            ),
            (
                #"{"models":[{"name":"g","provider":"demo","demo":{"fail":{"code":"BROKEN"}}}]}"#,
                "models[0].demo.fail.code: unknown status code 'BROKEN'; use a name such as UNAVAILABLE"
            ),
            (
                #"{"models":[{"name":"g","provider":"demo"}],"recommendations":{"fallback":[]}}"#,
                "recommendations.fallback: must name at least one model"
            ),
        ]
    )
    func fieldErrors(json: String, expected: String) throws {
        let (path, message) = try loadError(json)
        #expect(message == "\(path): \(expected)")
    }

    @Test("a missing file is reported with its path")
    func missingFile() {
        let path = "/nonexistent/chorus-registry.json"
        #expect(throws: RegistryConfigurationError.self) { try RegistryLoader.load(path: path) }
        do {
            _ = try RegistryLoader.load(path: path)
        } catch {
            #expect(error.path == path)
            #expect(error.description.hasPrefix("\(path): cannot read the file"))
        }
    }

    @Test("the built-in registry has three demo stand-ins with distinct profiles")
    func builtIn() throws {
        let registry = BuiltInRegistry.make()
        #expect(registry.names == ["gemini", "gpt4o", "pegasus"])
        #expect(registry.recommendations == .default)
        var delays: Set<Duration> = []
        for entry in registry.entries {
            #expect(entry.provider.kind == "demo")
            #expect(entry.info.demo && entry.info.available)
            #expect(entry.info.description.contains("Demo stand-in"))
            #expect(!entry.info.upstreamModel.isEmpty)
            let profile = try #require((entry.provider as? DemoProvider)?.profile)
            delays.insert(profile.firstChunkDelay)
            // ~3–6 s per answer: first chunk plus the chunk count at the average chunk size.
            let words = Double(profile.answerWords.lowerBound + profile.answerWords.upperBound) / 2
            let perChunk = Double(profile.wordsPerChunk.lowerBound + profile.wordsPerChunk.upperBound) / 2
            let seconds = profile.firstChunkDelay.seconds + (words / perChunk - 1) * profile.chunkInterval.seconds
            #expect(seconds > 2.5 && seconds < 6.5, "\(entry.name) takes \(seconds) s")
        }
        #expect(delays.count == 3)
    }
}
