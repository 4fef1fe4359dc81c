import ArgumentParser
import Foundation
import Logging

/// Reads one numeric setting: its flag, else its environment variable, else nil (the default).
///
/// A variable that is set but is not a number is an error naming it, never silently the default:
/// `CHORUS_HTTP_MAX_CALLS=1k` must not start a bridge with 1,000 calls when 1,000 was not what
/// the operator wrote. Seconds must be finite and at most ``maxSeconds`` (about 31 years), since
/// they become `Duration`s through `Int64` milliseconds. Other range checks stay with each caller,
/// which knows the setting's bounds.
enum Setting {
    static let maxSeconds = 1e9

    /// A text setting: its flag, else its variable (trimmed; blank counts as unset), else nil.
    static func string(_ flag: String?, _ variable: String, environment: [String: String]) -> String? {
        flag ?? text(variable, environment)
    }

    static func integer(_ flag: Int?, _ variable: String, environment: [String: String]) throws -> Int? {
        if let flag { return flag }
        guard let text = text(variable, environment) else { return nil }
        guard let value = Int(text) else { throw ValidationError("\(variable)='\(text)' is not an integer") }
        return value
    }

    /// A setting that must be at least 1; the error names the flag's setting or the variable.
    static func positiveInteger(_ flag: Int?, _ variable: String, name: String, environment: [String: String]) throws -> Int? {
        if let flag {
            guard flag > 0 else { throw ValidationError("\(name) must be a positive integer, got \(flag)") }
            return flag
        }
        guard let text = text(variable, environment) else { return nil }
        guard let value = Int(text), value > 0 else { throw ValidationError("\(variable)='\(text)' is not a positive integer (\(name))") }
        return value
    }

    static func seconds(_ flag: Double?, _ variable: String, name: String, environment: [String: String]) throws -> Double? {
        if let flag {
            guard flag.isFinite, abs(flag) <= maxSeconds else {
                throw ValidationError("\(name) must be a finite number of seconds up to \(Int(maxSeconds)), got \(flag)")
            }
            return flag
        }
        guard let text = text(variable, environment) else { return nil }
        guard let value = Double(text), value.isFinite, abs(value) <= maxSeconds else {
            throw ValidationError("\(variable)='\(text)' is not a number of seconds up to \(Int(maxSeconds))")
        }
        return value
    }

    /// `--log-level` or `CHORUS_LOG_LEVEL`, case-insensitive; info when neither is set.
    static func logLevel(_ flag: String?, environment: [String: String]) throws -> Logger.Level {
        guard let text = flag ?? text("CHORUS_LOG_LEVEL", environment) else { return .info }
        guard let level = Logger.Level(rawValue: text.lowercased()) else {
            throw ValidationError("unknown log level '\(text)'; use trace, debug, info, notice, warning, error or critical")
        }
        return level
    }

    private static func text(_ variable: String, _ environment: [String: String]) -> String? {
        guard let text = environment[variable]?.trimmingCharacters(in: .whitespaces), !text.isEmpty else { return nil }
        return text
    }
}
