import ChorusCore
import ChorusMedia
import Foundation
import Logging
import Testing

@testable import ChorusProviders

@Suite("Registry: real providers")
struct RegistryUpstreamTests {
    func load(_ json: String, environment: [String: String] = [:]) throws(RegistryConfigurationError) -> ModelRegistry {
        try RegistryLoader.load(
            data: Data(json.utf8), source: "inline", context: ProviderContext(environment: environment))
    }

    func message(_ json: String, environment: [String: String] = [:]) -> String? {
        do {
            _ = try load(json, environment: environment)
            return nil
        } catch {
            return error.description
        }
    }

    @Test func everyProviderKindLoadsWithDefaults() throws {
        let registry = try load(
            #"""
            {"models": [
              {"name": "gpt4o", "provider": "openai"},
              {"name": "gemini", "provider": "gemini", "upstream_model": "gemini-2.5-pro"},
              {"name": "pegasus", "provider": "twelvelabs"},
              {"name": "local", "provider": "openai-compatible", "base_url": "http://127.0.0.1:11434/v1", "upstream_model": "llama3.2"}
            ]}
            """#,
            environment: ["OPENAI_API_KEY": "sk-1", "GEMINI_API_KEY": "g-1", "TWELVELABS_API_KEY": "t-1"])
        #expect(registry["gpt4o"]?.provider.kind == "openai")
        #expect(registry["gpt4o"]?.settings.upstreamModel == "gpt-4o")
        #expect(registry["gemini"]?.provider.kind == "gemini")
        #expect(registry["gemini"]?.settings.upstreamModel == "gemini-2.5-pro")
        #expect(registry["pegasus"]?.provider.kind == "twelvelabs")
        #expect(registry["local"]?.provider.kind == "openai-compatible")
        #expect(registry.entries.allSatisfy { $0.settings.available && !$0.settings.demo })
    }

    @Test func aMissingKeyListsTheModelAsUnavailableWithTheReason() throws {
        let registry = try load(#"{"models": [{"name": "gpt4o", "provider": "openai"}]}"#)
        let entry = try #require(registry["gpt4o"])
        #expect(!entry.settings.available)
        #expect(entry.settings.unavailableReason?.contains("OPENAI_API_KEY") == true)
        #expect(!entry.info.available)
    }

    @Test func keysComeFromTheNamedVariableOrFile() throws {
        let named = try load(
            #"{"models": [{"name": "g", "provider": "gemini", "api_key_env": "MY_GEMINI"}]}"#, environment: ["MY_GEMINI": "k"])
        #expect(named["g"]?.settings.available == true)
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("chorus-key-\(UUID().uuidString)").path
        try "secret-from-file\n".write(toFile: file, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: file) }
        let fromFile = try load(#"{"models": [{"name": "o", "provider": "openai", "api_key_file": "\#(file)"}]}"#)
        #expect(fromFile["o"]?.settings.available == true)
        let missing = message(#"{"models": [{"name": "o", "provider": "openai", "api_key_file": "/nonexistent/key"}]}"#)
        #expect(missing == "inline: models[0].api_key_file: cannot read the API key file /nonexistent/key")
    }

    @Test func fieldsAreCheckedWithTheirPath() {
        #expect(
            message(#"{"models": [{"name": "l", "provider": "openai-compatible", "upstream_model": "m"}]}"#)?
                .hasPrefix("inline: models[0].base_url: provider 'openai-compatible' needs base_url") == true)
        #expect(
            message(#"{"models": [{"name": "l", "provider": "openai-compatible", "base_url": "http://h/v1"}]}"#)?
                .hasPrefix("inline: models[0].upstream_model:") == true)
        #expect(
            message(#"{"models": [{"name": "o", "provider": "openai", "base_url": "ftp://x"}]}"#)?
                .hasPrefix("inline: models[0].base_url: must be an http:// or https:// URL") == true)
        #expect(
            message(#"{"models": [{"name": "o", "provider": "openai"}]}"#, environment: ["OPENAI_BASE_URL": "localhost:8000"])?
                .hasPrefix("inline: OPENAI_BASE_URL: must be an http:// or https:// URL") == true)
        #expect(
            message(#"{"models": [{"name": "o", "provider": "openai", "retry": {"max_attempts": 0}}]}"#)
                == "inline: models[0].retry.max_attempts: must be between 1 and 10, got 0")
        #expect(
            message(#"{"models": [{"name": "o", "provider": "openai", "max_concurrent": 0}]}"#)
                == "inline: models[0].max_concurrent: must be 1 or more, got 0")
        #expect(
            message(#"{"models": [{"name": "o", "provider": "openai", "video": {"detail": "ultra"}}]}"#)
                == "inline: models[0].video.detail: must be low, high or auto, got 'ultra'")
        #expect(
            message(#"{"models": [{"name": "g", "provider": "gemini", "video": {"frames": 4}}]}"#)?
                .hasPrefix("inline: models[0].video: frame sampling applies to providers") == true)
        #expect(
            message(#"{"models": [{"name": "d", "provider": "demo", "base_url": "http://x/v1"}]}"#)
                == "inline: models[0].base_url: does not apply to provider 'demo' (it makes no upstream requests)")
        #expect(message(#"{"models": [{"name": "o", "provider": "openai", "api_key": "sk-inline"}]}"#)?.contains("unknown field 'api_key'") == true)
        #expect(
            message(#"{"models": [{"name": "o", "provider": "openai", "files": {"poll_interval_ms": 500}}]}"#)
                == "inline: models[0].files: upload settings apply to providers 'gemini' (Files API) and 'twelvelabs' (assets) only")
        #expect(
            message(#"{"models": [{"name": "p", "provider": "twelvelabs", "files": {"max_processing_ms": 0}}]}"#)
                == "inline: models[0].files.max_processing_ms: must be positive, got 0")
    }

    @Test func uploadPollingReachesGeminiAndTwelveLabs() throws {
        let registry = try load(#"""
            {"models": [
              {"name": "g", "provider": "gemini", "files": {"poll_interval_ms": 500, "max_processing_ms": 60000}},
              {"name": "p", "provider": "twelvelabs", "files": {"poll_interval_ms": 750, "max_processing_ms": 90000}}
            ]}
            """#)
        let gemini = try #require(registry["g"]?.provider as? GeminiProvider)
        #expect(gemini.uploader.options.pollInterval == .milliseconds(500))
        #expect(gemini.uploader.options.maxProcessingWait == .milliseconds(60_000))
        let pegasus = try #require(registry["p"]?.provider as? TwelveLabsProvider)
        #expect(pegasus.uploader.options.pollInterval == .milliseconds(750))
        #expect(pegasus.uploader.options.maxProcessingWait == .milliseconds(90_000))
        #expect(pegasus.uploader.options.maxUploadBytes == TwelveLabsAssetOptions.defaultMaxUploadBytes)
        #expect(pegasus.uploader.options.keepUnused == .seconds(3_600))
        #expect(pegasus.uploader.options.deleteOnExit)
    }

    @Test func assetDeletionIsConfiguredPerTwelveLabsModel() throws {
        let context = ProviderContext(environment: [:])
        let registry = try RegistryLoader.load(
            data: Data(#"""
                {"models": [
                  {"name": "p1", "provider": "twelvelabs", "files": {"keep_unused_ms": 600000, "delete_on_exit": false}},
                  {"name": "p2", "provider": "twelvelabs", "files": {"keep_unused_ms": 0}}
                ]}
                """#.utf8), source: "inline", context: context)
        let first = try #require(registry["p1"]?.provider as? TwelveLabsProvider)
        #expect(first.uploader.options.keepUnused == .seconds(600))
        #expect(first.uploader.options.deleteOnExit == false)
        let second = try #require(registry["p2"]?.provider as? TwelveLabsProvider)
        #expect(second.uploader.options.keepUnused == nil, "0: kept until the server stops")
        // Both registered with the context's janitor: it sweeps every tenth of the shortest keep.
        #expect(context.uploads.sweepInterval == .seconds(60))

        #expect(
            message(#"{"models": [{"name": "p", "provider": "twelvelabs", "files": {"keep_unused_ms": -1}}]}"#)
                == "inline: models[0].files.keep_unused_ms: must be 0 (keep until the server stops) or more, got -1")
        #expect(
            message(#"{"models": [{"name": "g", "provider": "gemini", "files": {"keep_unused_ms": -5}}]}"#)
                == "inline: models[0].files.keep_unused_ms: must be 0 (keep until the server stops) or more, got -5")
    }

    @Test func geminiFilesAreLeftToGoogleUnlessConfigured() throws {
        let registry = try load(#"""
            {"models": [
              {"name": "g1", "provider": "gemini"},
              {"name": "g2", "provider": "gemini", "files": {"keep_unused_ms": 900000, "delete_on_exit": false}}
            ]}
            """#)
        let plain = try #require(registry["g1"]?.provider as? GeminiProvider)
        #expect(plain.uploader.options.keepUnused == nil, "Google deletes files 48 h after the upload")
        #expect(plain.uploader.options.deleteOnExit)
        let configured = try #require(registry["g2"]?.provider as? GeminiProvider)
        #expect(configured.uploader.options.keepUnused == .seconds(900))
        #expect(configured.uploader.options.deleteOnExit == false)
    }

    @Test func builtInRegistryUsesRealProvidersOnlyWhereKeysAreSet() throws {
        let none = try BuiltInRegistry.make(context: ProviderContext(environment: [:]))
        #expect(none.entries.map(\.provider.kind) == ["demo", "demo", "demo"])
        let some = try BuiltInRegistry.make(
            context: ProviderContext(environment: ["OPENAI_API_KEY": "sk-x", "GEMINI_API_KEY": ""]))
        #expect(some["gpt4o"]?.provider.kind == "openai")
        #expect(some["gpt4o"]?.settings.demo == false)
        #expect(some["gpt4o"]?.settings.upstreamModel == "gpt-4o")
        #expect(some["gemini"]?.provider.kind == "demo")
        #expect(some["pegasus"]?.provider.kind == "demo")
        #expect(throws: RegistryConfigurationError.self) {
            try BuiltInRegistry.make(context: ProviderContext(environment: ["OPENAI_API_KEY": "k", "OPENAI_BASE_URL": "nope"]))
        }
    }
}
