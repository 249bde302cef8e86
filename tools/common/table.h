// The one table printer of the tools (portcullis-audit, portcullis-admin,
// liaison): aligned columns two spaces apart under a header row. Every cell
// is a party's text or built from it and is shown through DisplayText
// (util/display_text.h): callers pass raw text. A column with a wrap width
// wraps longer cells onto more lines (at a space where it can, never inside an
// escape or a UTF-8 sequence); a column without one (ids, digests, numbers,
// times) is never wrapped or cut, so an id is always whole on one line.
// Pure functions; thread-safe.
#ifndef PORTCULLIS_TOOLS_COMMON_TABLE_H_
#define PORTCULLIS_TOOLS_COMMON_TABLE_H_

#include <cstddef>
#include <ostream>
#include <string>
#include <vector>

namespace portcullis::tools {

struct Column {
  std::string header;
  size_t wrap = 0;  // Wrap cells wider than this many characters; 0: never (ids).
};

// A column of text wrapped at `width` characters.
inline Column Wrapped(std::string header, size_t width) { return Column{std::move(header), width}; }

// The table as text, one "\n"-terminated line per printed line, trailing
// blanks trimmed. Rows may be shorter than `columns` (missing cells are empty).
std::string RenderTable(const std::vector<Column>& columns, const std::vector<std::vector<std::string>>& rows);

// RenderTable to `out`.
void PrintTable(std::ostream& out, const std::vector<Column>& columns,
                const std::vector<std::vector<std::string>>& rows);

// Headers only: every column never wrapped.
std::vector<Column> Columns(const std::vector<std::string>& headers);

// `text` (already escaped) cut into lines of at most `width` characters,
// breaking after a space where possible; escapes and UTF-8 sequences are
// never split. Exposed for tests.
std::vector<std::string> WrapCell(const std::string& text, size_t width);

}  // namespace portcullis::tools

#endif  // PORTCULLIS_TOOLS_COMMON_TABLE_H_
