#include "tools/common/table.h"

#include <algorithm>
#include <cctype>

#include "util/display_text.h"

namespace portcullis::tools {
namespace {

// Length in bytes of the unit starting at text[i]: one escape written by
// DisplayText (\\ \t \n \r \xNN \uXXXX), or one UTF-8 character.
size_t UnitLength(const std::string& text, size_t i) {
  const unsigned char c = static_cast<unsigned char>(text[i]);
  if (c == '\\' && i + 1 < text.size()) {
    const char e = text[i + 1];
    size_t n = e == 'x' ? 4 : e == 'u' ? 6 : 2;
    return std::min(n, text.size() - i);
  }
  size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 1;
  return std::min(n, text.size() - i);
}

std::vector<std::string> Units(const std::string& text) {
  std::vector<std::string> units;
  for (size_t i = 0; i < text.size();) {
    const size_t n = UnitLength(text, i);
    units.push_back(text.substr(i, n));
    i += n;
  }
  return units;
}

// Characters on screen (an escape counts as its written characters).
size_t Width(const std::string& text) {
  size_t w = 0;
  for (size_t i = 0; i < text.size();) {
    const size_t n = UnitLength(text, i);
    w += text[i] == '\\' ? n : 1;
    i += n;
  }
  return w;
}

size_t UnitWidth(const std::string& unit) { return unit[0] == '\\' ? unit.size() : 1; }

void TrimRight(std::string* s) {
  while (!s->empty() && s->back() == ' ') s->pop_back();
}

}  // namespace

std::vector<std::string> WrapCell(const std::string& text, size_t width) {
  if (width == 0 || Width(text) <= width) return {text};
  const std::vector<std::string> units = Units(text);
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < units.size()) {
    // Take units while they fit (at least one: an escape wider than the column stays whole).
    size_t end = start, used = 0, last_space = 0;
    while (end < units.size() && (end == start || used + UnitWidth(units[end]) <= width)) {
      used += UnitWidth(units[end]);
      if (units[end] == " ") last_space = end + 1;
      ++end;
    }
    if (end < units.size() && last_space > start) end = last_space;  // Break after the last space.
    std::string line;
    for (size_t i = start; i < end; ++i) line += units[i];
    TrimRight(&line);
    lines.push_back(line);
    start = end;
    while (start < units.size() && units[start] == " ") ++start;  // No line starts with the break's blanks.
  }
  return lines;
}

std::vector<Column> Columns(const std::vector<std::string>& headers) {
  std::vector<Column> columns;
  for (const std::string& h : headers) columns.push_back(Column{h, 0});
  return columns;
}

std::string RenderTable(const std::vector<Column>& columns, const std::vector<std::vector<std::string>>& rows) {
  size_t n = columns.size();
  for (const auto& row : rows) n = std::max(n, row.size());
  // Each row as wrapped lines per cell; the header row is the first.
  std::vector<std::vector<std::vector<std::string>>> table;
  std::vector<std::string> header;
  for (const Column& c : columns) header.push_back(c.header);
  std::vector<const std::vector<std::string>*> all = {&header};
  for (const auto& row : rows) all.push_back(&row);
  std::vector<size_t> width(n, 0);
  for (const auto* row : all) {
    std::vector<std::vector<std::string>> cells(n);
    for (size_t i = 0; i < n; ++i) {
      const std::string text = i < row->size() ? DisplayText((*row)[i]) : "";
      const size_t wrap = i < columns.size() && row != &header ? columns[i].wrap : 0;
      cells[i] = WrapCell(text, wrap);
      for (const std::string& line : cells[i]) width[i] = std::max(width[i], Width(line));
    }
    table.push_back(std::move(cells));
  }
  std::string out;
  for (const auto& cells : table) {
    size_t height = 1;
    for (const auto& c : cells) height = std::max(height, c.size());
    for (size_t l = 0; l < height; ++l) {
      std::string line;
      for (size_t i = 0; i < n; ++i) {
        const std::string cell = l < cells[i].size() ? cells[i][l] : "";
        line += cell;
        if (i + 1 < n) line += std::string(width[i] - Width(cell) + 2, ' ');
      }
      TrimRight(&line);
      out += line + "\n";
    }
  }
  return out;
}

void PrintTable(std::ostream& out, const std::vector<Column>& columns,
                const std::vector<std::vector<std::string>>& rows) {
  out << RenderTable(columns, rows);
}

}  // namespace portcullis::tools
