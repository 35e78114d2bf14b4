#include "auth_dialog.hpp"

#include "ocm/base/bytes.hpp"
#include "ocm/proto/auth_xml.hpp"

namespace ocm::loadgen {
namespace {

// openconnect's XML fields, in its order (protocol.md §2.3).
constexpr std::string_view kXmlHead =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<config-auth client=\"vpn\" type=\"";
constexpr std::string_view kXmlIdentity =
    "<version who=\"vpn\">v9.01-3</version><device-id>linux-64</device-id>"
    "<capabilities><auth-method>single-sign-on-v2</auth-method>"
    "<auth-method>single-sign-on-external-browser</auth-method></capabilities>";

std::string post(std::string_view path, std::string_view host, std::string_view cookies, std::string_view body) {
  std::string r;
  r.reserve(512 + body.size());
  r += "POST ";
  r += path;
  r += " HTTP/1.1\r\nHost: ";
  r += host;
  r += "\r\nUser-Agent: ";
  r += kUserAgent;
  r += "\r\n";
  if (!cookies.empty()) {
    r += "Cookie: ";
    r += cookies;
    r += "\r\n";
  }
  r += "Accept: */*\r\nAccept-Encoding: identity\r\nX-Transcend-Version: 1\r\nX-Aggregate-Auth: 1\r\n"
       "X-Support-HTTP-Auth: true\r\nContent-Type: application/xml; charset=utf-8\r\nContent-Length: ";
  r += std::to_string(body.size());
  r += "\r\n\r\n";
  r += body;
  return r;
}

// Value of attribute `name` inside one start tag (the text between '<' and '>').
std::optional<std::string> attribute(std::string_view tag, std::string_view name) {
  size_t pos = 0;
  while ((pos = tag.find(name, pos)) != std::string_view::npos) {
    bool boundary = pos > 0 && (tag[pos - 1] == ' ' || tag[pos - 1] == '\n' || tag[pos - 1] == '\t');
    size_t eq = pos + name.size();
    if (boundary && eq + 1 < tag.size() && tag[eq] == '=' && (tag[eq + 1] == '"' || tag[eq + 1] == '\'')) {
      char quote = tag[eq + 1];
      size_t end = tag.find(quote, eq + 2);
      if (end == std::string_view::npos) {
        return std::nullopt;
      }
      return std::string(tag.substr(eq + 2, end - eq - 2));
    }
    pos = eq;
  }
  return std::nullopt;
}

// Start tags named `element` (followed by space, '/' or '>'), in document order.
std::vector<std::string_view> start_tags(std::string_view doc, std::string_view element) {
  std::vector<std::string_view> out;
  size_t pos = 0;
  while ((pos = doc.find('<', pos)) != std::string_view::npos) {
    std::string_view rest = doc.substr(pos + 1);
    size_t close = rest.find('>');
    if (close == std::string_view::npos) {
      break;
    }
    if (rest.substr(0, element.size()) == element && rest.size() > element.size()) {
      char next = rest[element.size()];
      if (next == ' ' || next == '/' || next == '>' || next == '\n') {
        out.push_back(rest.substr(0, close));
      }
    }
    pos += 1 + close;
  }
  return out;
}

}  // namespace

Status CookieJar::absorb(std::string_view set_cookie) {
  std::string_view kv = set_cookie.substr(0, set_cookie.find(';'));
  auto eq = kv.find('=');
  if (eq == std::string_view::npos || eq == 0) {
    return make_error("Set-Cookie without name=value: " + std::string(set_cookie.substr(0, 60)));
  }
  std::string name(kv.substr(0, eq));
  std::string_view value = kv.substr(eq + 1);
  if (value.empty()) {
    cookies_.erase(name);
  } else {
    cookies_[name] = std::string(value);
  }
  return {};
}

std::optional<std::string_view> CookieJar::get(std::string_view name) const {
  auto it = cookies_.find(name);
  if (it == cookies_.end()) {
    return std::nullopt;
  }
  return std::string_view(it->second);
}

std::string CookieJar::header_value() const {
  std::string out;
  for (const auto& [k, v] : cookies_) {
    if (!out.empty()) {
      out += "; ";
    }
    out += k;
    out += '=';
    out += v;
  }
  return out;
}

bool valid_session_cookie(std::string_view value) {
  if (value.size() != 44) {
    return false;
  }
  auto raw = base64_decode(value);
  return raw && raw->size() == 32;
}

Result<AuthDocument> parse_auth_document(std::string_view body) {
  if (start_tags(body, "config-auth").size() != 1) {
    return make_error("no single <config-auth> root");
  }
  auto auths = start_tags(body, "auth");
  if (auths.empty()) {
    return make_error("XML response has no \"auth\" node");
  }
  AuthDocument doc;
  auto id = attribute(auths.front(), "id");
  if (!id || id->empty()) {
    return make_error("<auth> without id");
  }
  doc.auth_id = *id;
  if (auto m = body.find("<message>"); m != std::string_view::npos) {
    auto end = body.find("</message>", m);
    if (end == std::string_view::npos) {
      return make_error("unterminated <message>");
    }
    doc.message = std::string(body.substr(m + 9, end - m - 9));
  }
  auto forms = start_tags(body, "form");
  if (forms.size() > 1) {
    return make_error("several <form> elements");
  }
  if (!forms.empty()) {
    doc.has_form = true;
    // openconnect: no method means POST, no action means "/".
    doc.form_method = attribute(forms.front(), "method").value_or("post");
    doc.form_action = attribute(forms.front(), "action").value_or("/");
    for (auto tag : start_tags(body, "input")) {
      auto name = attribute(tag, "name");
      auto type = attribute(tag, "type");
      if (!name || !type) {
        return make_error("<input> without name or type");
      }
      doc.inputs.push_back({*type, *name});
    }
  }
  return doc;
}

std::string init_request(std::string_view host, std::string_view cookies) {
  std::string body(kXmlHead);
  body += "init\" aggregate-auth-version=\"2\">";
  body += kXmlIdentity;
  body += "<group-access>https://";
  body += host;
  body += "/</group-access></config-auth>";
  return post("/", host, cookies, body);
}

Result<std::string> auth_reply_request(const AuthDocument& form, std::string_view host, std::string_view cookies,
                                       std::string_view user, std::string_view password) {
  if (form.form_method != "post" && form.form_method != "POST") {
    return make_error("form method is not POST: " + form.form_method);
  }
  std::string fields;
  for (const auto& in : form.inputs) {
    if (in.type == "text" && in.name == "username") {
      fields += "<username>" + proto::xml_escape(user) + "</username>";
    } else if (in.type == "password") {
      // openconnect sends every password-type field under its own name (answer/new_password
      // become <password>; we have no such prompts).
      fields += "<" + in.name + ">" + proto::xml_escape(password) + "</" + in.name + ">";
    } else if (in.type != "hidden") {
      return make_error("form input we cannot fill: " + in.type + " " + in.name);
    }
  }
  if (fields.empty()) {
    return make_error("form without inputs");
  }
  std::string body(kXmlHead);
  body += "auth-reply\" aggregate-auth-version=\"2\">";
  body += kXmlIdentity;
  body += "<auth>";
  body += fields;
  body += "</auth></config-auth>";
  return post(form.form_action, host, cookies, body);
}

std::string connect_request(std::string_view host, std::string_view webvpn_cookie, const ConnectOptions& opt) {
  std::string r = "CONNECT /CSCOSSLC/tunnel HTTP/1.1\r\nHost: ";
  r += host;
  r += "\r\nUser-Agent: ";
  r += kUserAgent;
  r += "\r\nCookie: webvpn=";
  r += webvpn_cookie;
  r += "\r\nX-CSTP-Version: 1\r\nX-CSTP-Hostname: ";
  r += opt.hostname;
  // No X-CSTP-Accept-Encoding (openconnect -D): we do not decompress. IPv4 only
  // (openconnect --disable-ipv6): we do not run IPv6 inside the tunnel.
  r += "\r\nX-CSTP-Base-MTU: 1500\r\nX-CSTP-MTU: 1390\r\nX-CSTP-Address-Type: IPv4\r\n";
  if (opt.dtls) {
    // openconnect --dtls-ciphers=PSK-NEGOTIATE: master secret plus only the given list.
    r += "X-DTLS-Master-Secret: ";
    r += opt.master_secret_hex;
    r += "\r\nX-DTLS-CipherSuite: PSK-NEGOTIATE\r\n";
  }
  r += "\r\n";
  return r;
}

}  // namespace ocm::loadgen
