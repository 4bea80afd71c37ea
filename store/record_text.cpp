#include "store/record_text.h"

#include "reconcile/quote.h"

namespace bs::store {

std::string_view to_string(Origin o) { return o == Origin::Created ? "created" : "adopted"; }

Expected<Ipv4, std::string> address_from_text(const std::string& text) {
  auto a = parse_ipv4(text);
  if (!a) return unexpected(a.error());
  return *a;
}

Expected<Origin, std::string> origin_from_text(const std::string& text) {
  if (text == "created") return Origin::Created;
  if (text == "adopted") return Origin::Adopted;
  return unexpected(bs::quoted(text) + " is neither \"created\" nor \"adopted\"");
}

Expected<OnRemove, std::string> on_remove_from_text(const std::string& text) {
  if (text == "delete") return OnRemove::Delete;
  if (text == "keep") return OnRemove::Keep;
  return unexpected(bs::quoted(text) + " is neither \"delete\" nor \"keep\"");
}

std::string allowlist_text(const Allowlist& a) {
  std::string out;
  for (const Cidr& c : a) {
    if (!out.empty()) out += '\n';
    out += c.str();
  }
  return out;
}

Expected<Allowlist, std::string> allowlist_from_text(const std::string& text) {
  std::vector<std::string> entries;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    entries.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return parse_allowlist(entries);
}

}  // namespace bs::store
