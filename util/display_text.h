// Rendering text a party supplied (officer ids, reasons, justifications,
// message ids, error text from the gateway...) for a person's screen or a
// spreadsheet, so that no party can forge what an auditor or operator sees.
// One helper for every tool in tools/ (portcullis-audit, liaison,
// portcullis-admin). Pure functions; thread-safe.
//
// DisplayText: printable ASCII and printable UTF-8 pass unchanged; anything a
// terminal would act on, or that could hide or reorder text, is shown as an
// escape: C0 controls and DEL as \xNN (with \t \n \r for the common three),
// C1 controls (U+0080..U+009F), bidirectional controls (U+061C, U+200E/F,
// U+202A..U+202E, U+2066..U+2069), line/paragraph separators (U+2028/9),
// zero-width and BOM characters (U+200B..U+200D, U+2060, U+FEFF) as \uXXXX,
// and each byte of invalid UTF-8 as \xNN. A backslash is doubled, so an
// escape in the output can never be forged by text that spells one.
//
// CsvCell: one RFC 4180 field, always quoted ("" for a quote), its text made
// safe by DisplayText (so never a raw NUL, ESC, CR or LF), and safe against
// spreadsheet formula injection: a value starting with = + - @ TAB or CR is
// prefixed with a ' (OWASP "CSV injection").
#ifndef PORTCULLIS_UTIL_DISPLAY_TEXT_H_
#define PORTCULLIS_UTIL_DISPLAY_TEXT_H_

#include <string>

#include "absl/strings/string_view.h"

namespace portcullis {

std::string DisplayText(absl::string_view text);

// DisplayText for multi-line text (a record rendered as JSON, an error with
// a list): each line escaped, the line feeds between them kept.
std::string DisplayLines(absl::string_view text);

// A JSON document (e.g. a record rendered in a party's format) for a screen:
// line feeds kept, backslashes left as they are (in JSON they start an
// escape), and every character DisplayText would escape written as the JSON
// escape \uXXXX, which means the same character to any JSON reader; each
// byte of invalid UTF-8 becomes \ufffd. Valid JSON stays valid and equal.
std::string DisplayJson(absl::string_view json);

std::string CsvCell(absl::string_view text);

}  // namespace portcullis

#endif  // PORTCULLIS_UTIL_DISPLAY_TEXT_H_
