// EventTime: parses MEDS/ISO 8601 timestamps to days since 1970-01-01 without a date formatter on the hot path.

/// Timestamps as fractional days since the Unix epoch (UTC).
public enum EventTime {
    /// Parses `YYYY-MM-DD`, `YYYY-MM-DDTHH:MM[:SS[.fff]]` (a space may replace `T`; a trailing `Z` is accepted).
    public static func days(_ text: some StringProtocol) -> Double? {
        var text = String(text)
        return text.withUTF8 { days(utf8: $0) }
    }

    /// `days(_:)` on UTF-8 bytes, for readers that parse times without making a `String`.
    public static func days(utf8 bytes: UnsafeBufferPointer<UInt8>) -> Double? {
        func number(_ start: Int, _ count: Int) -> Int? {
            guard start + count <= bytes.count else { return nil }
            var value = 0
            for byte in bytes[start..<(start + count)] {
                guard (48...57).contains(byte) else { return nil }
                value = value * 10 + Int(byte - 48)
            }
            return value
        }
        guard bytes.count >= 10, bytes[4] == 45, bytes[7] == 45,
            let year = number(0, 4), let month = number(5, 2), let day = number(8, 2),
            (1...12).contains(month), (1...daysIn(month: month, year: year)).contains(day)
        else { return nil }
        var seconds = 0.0
        if bytes.count > 10 {
            guard bytes[10] == 84 || bytes[10] == 32, let hour = number(11, 2), bytes.count >= 16, bytes[13] == 58,
                let minute = number(14, 2), hour < 24, minute < 60
            else { return nil }
            seconds = Double(hour * 3600 + minute * 60)
            var index = 16
            if index < bytes.count, bytes[index] == 58 {
                guard let second = number(17, 2), second < 61 else { return nil }
                seconds += Double(second)
                index = 19
                if index < bytes.count, bytes[index] == 46 {
                    index += 1
                    var scale = 0.1
                    while index < bytes.count, (48...57).contains(bytes[index]) {
                        seconds += Double(bytes[index] - 48) * scale
                        scale /= 10
                        index += 1
                    }
                }
            }
            if index < bytes.count, bytes[index] == 90 { index += 1 }
            guard index == bytes.count else { return nil }
        }
        return Double(daysFromCivil(year: year, month: month, day: day)) + seconds / 86_400
    }

    /// Formats days since the epoch as `YYYY-MM-DDTHH:MM:SS` (UTC).
    public static func iso8601(days: Double) -> String {
        // Round to the second first, so a time within half a second of midnight is the next day's 00:00:00, never 24:00:00.
        let seconds = Int((days * 86_400).rounded())
        let whole = seconds >= 0 ? seconds / 86_400 : -((-seconds + 86_399) / 86_400)
        let secondsOfDay = seconds - whole * 86_400
        let (year, month, day) = civilFromDays(whole)
        func two(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }
        return "\(year)-\(two(month))-\(two(day))T\(two(secondsOfDay / 3600)):\(two(secondsOfDay / 60 % 60)):\(two(secondsOfDay % 60))"
    }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    static func civilFromDays(_ days: Int) -> (Int, Int, Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}
