#include "store.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace kd_dist {

namespace {

enum Cmd : uint8_t { kSet = 1, kGet = 2, kAdd = 3, kCheck = 4 };

std::string errnoText(const char* what) { return std::string(what) + ": " + std::strerror(errno); }

// Whole reads and writes over a blocking socket; false when the peer went away.
bool readAll(int fd, void* buf, size_t n) {
  char* p = static_cast<char*>(buf);
  while (n > 0) {
    ssize_t r = ::recv(fd, p, n, 0);
    if (r == 0) return false;
    if (r < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    p += r;
    n -= static_cast<size_t>(r);
  }
  return true;
}

bool writeAll(int fd, const void* buf, size_t n) {
  const char* p = static_cast<const char*>(buf);
  while (n > 0) {
    ssize_t r = ::send(fd, p, n, MSG_NOSIGNAL);
    if (r < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    p += r;
    n -= static_cast<size_t>(r);
  }
  return true;
}

void putU32(Bytes& out, uint32_t v) {
  uint32_t be = htonl(v);
  const char* p = reinterpret_cast<const char*>(&be);
  out.insert(out.end(), p, p + 4);
}

bool readBlob(int fd, Bytes& out) {
  uint32_t be;
  if (!readAll(fd, &be, 4)) return false;
  out.resize(ntohl(be));
  return out.empty() || readAll(fd, out.data(), out.size());
}

// Counters are decimal text, as PyTorch's stores keep them (get() after
// add() reads b"3").
int64_t decodeI64(const Bytes& b) {
  std::string text(b.begin(), b.end());
  return std::strtoll(text.c_str(), nullptr, 10);  // not a number reads as 0, never throws
}

Bytes encodeI64(int64_t v) {
  std::string text = std::to_string(v);
  return Bytes(text.begin(), text.end());
}

}  // namespace

// ---- KvStore ---------------------------------------------------------------

std::string KvStore::describeKey(const std::string& key) {
  // initProcessGroup's join keys are ".../join/<rank>" (lib/distributed).
  auto pos = key.rfind("join/");
  if (pos != std::string::npos) return "key '" + key + "' (rank " + key.substr(pos + 5) + " has not joined)";
  return "key '" + key + "'";
}

Bytes KvStore::get(const std::string& key) {
  wait({key});
  return getNow(key);
}

void KvStore::wait(const std::vector<std::string>& keys, const Millis& timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  auto pause = Millis(1);
  for (const auto& key : keys) {
    while (!check(key)) {
      if (std::chrono::steady_clock::now() >= deadline) {
        throw std::runtime_error("store: timed out after " + std::to_string(timeout.count()) + " ms waiting for " +
                                 describeKey(key));
      }
      std::this_thread::sleep_for(pause);
      pause = std::min(pause * 2, Millis(20));
    }
  }
}

// ---- TcpStoreServer ----------------------------------------------------------

TcpStoreServer::TcpStoreServer(const std::string& host, int port) {
  listenFd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listenFd_ < 0) throw std::runtime_error(errnoText("TCPStore: socket"));
  int one = 1;
  ::setsockopt(listenFd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  // Listen on every interface, as PyTorch's TCPStore does: MASTER_ADDR is
  // the address the other ranks use, which may differ from `host` here.
  addr.sin_addr.s_addr = htonl(INADDR_ANY);
  (void)host;
  if (::bind(listenFd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) < 0 || ::listen(listenFd_, 128) < 0) {
    std::string msg = errnoText(("TCPStore: cannot listen on port " + std::to_string(port)).c_str());
    ::close(listenFd_);
    throw std::runtime_error(msg);
  }
  socklen_t len = sizeof(addr);
  ::getsockname(listenFd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  acceptThread_ = std::thread([this] { acceptLoop(); });
}

TcpStoreServer::~TcpStoreServer() { stop(); }

void TcpStoreServer::stop() {
  if (stopping_.exchange(true)) return;
  ::shutdown(listenFd_, SHUT_RDWR);
  if (acceptThread_.joinable()) acceptThread_.join();
  ::close(listenFd_);
  std::vector<std::thread> threads;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (int fd : clients_) ::shutdown(fd, SHUT_RDWR);
    threads.swap(threads_);
  }
  for (auto& t : threads) t.join();
}

void TcpStoreServer::acceptLoop() {
  while (!stopping_) {
    int fd = ::accept4(listenFd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      return;  // shut down
    }
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) {
      ::close(fd);
      return;
    }
    clients_.push_back(fd);
    threads_.emplace_back([this, fd] { serve(fd); });
  }
}

void TcpStoreServer::serve(int fd) {
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  for (;;) {
    uint8_t cmd;
    Bytes key, value;
    if (!readAll(fd, &cmd, 1) || !readBlob(fd, key) || !readBlob(fd, value)) break;
    std::string k(key.begin(), key.end());
    Bytes reply;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (cmd == kSet) {
        data_[k] = value;
      } else if (cmd == kGet) {
        auto it = data_.find(k);
        reply.push_back(it == data_.end() ? 0 : 1);
        const Bytes& v = it == data_.end() ? Bytes() : it->second;
        putU32(reply, static_cast<uint32_t>(v.size()));
        reply.insert(reply.end(), v.begin(), v.end());
      } else if (cmd == kAdd) {
        int64_t now = decodeI64(data_[k]) + decodeI64(value);
        data_[k] = encodeI64(now);
        putU32(reply, static_cast<uint32_t>(data_[k].size()));
        reply.insert(reply.end(), data_[k].begin(), data_[k].end());
      } else if (cmd == kCheck) {
        reply.push_back(data_.count(k) ? 1 : 0);
      } else {
        break;
      }
    }
    if (!reply.empty() && !writeAll(fd, reply.data(), reply.size())) break;
  }
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = clients_.begin(); it != clients_.end(); ++it) {
    if (*it == fd) {
      clients_.erase(it);
      break;
    }
  }
  ::close(fd);
}

// ---- TcpStore ----------------------------------------------------------------

TcpStore::TcpStore(const std::string& host, int port, bool isMaster, Millis timeout) : KvStore(timeout) {
  if (isMaster) {
    server_ = std::make_unique<TcpStoreServer>(host, port);
    port = server_->port();
  }
  port_ = port;
  where_ = host + ":" + std::to_string(port);
  addrinfo hints{}, *res = nullptr;
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  std::string portText = std::to_string(port);
  int rc = ::getaddrinfo(host.c_str(), portText.c_str(), &hints, &res);
  if (rc != 0) throw std::runtime_error("TCPStore: cannot resolve '" + host + "': " + gai_strerror(rc));
  // The master may not listen yet: retry until the timeout, as PyTorch does.
  auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string last;
  while (fd_ < 0) {
    for (addrinfo* ai = res; ai != nullptr && fd_ < 0; ai = ai->ai_next) {
      int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC, ai->ai_protocol);
      if (fd < 0) continue;
      if (::connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
        fd_ = fd;
      } else {
        last = std::strerror(errno);
        ::close(fd);
      }
    }
    if (fd_ >= 0) break;
    if (std::chrono::steady_clock::now() >= deadline) {
      ::freeaddrinfo(res);
      throw std::runtime_error("TCPStore: could not connect to the store at " + where_ +
                               " (MASTER_ADDR:MASTER_PORT) within " + std::to_string(timeout.count()) + " ms: " + last +
                               "; is rank 0 running?");
    }
    std::this_thread::sleep_for(Millis(10));
  }
  ::freeaddrinfo(res);
  int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

TcpStore::~TcpStore() { close(); }

void TcpStore::close() {
  std::lock_guard<std::mutex> lock(mu_);
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
  if (server_) server_->stop();
}

Bytes TcpStore::request(uint8_t cmd, const std::string& key, const Bytes& value) {
  std::lock_guard<std::mutex> lock(mu_);
  if (fd_ < 0) throw std::runtime_error("TCPStore: the store is closed");
  Bytes msg;
  msg.push_back(static_cast<char>(cmd));
  putU32(msg, static_cast<uint32_t>(key.size()));
  msg.insert(msg.end(), key.begin(), key.end());
  putU32(msg, static_cast<uint32_t>(value.size()));
  msg.insert(msg.end(), value.begin(), value.end());
  if (!writeAll(fd_, msg.data(), msg.size())) throw std::runtime_error("TCPStore: lost the connection to " + where_);
  Bytes reply;
  bool ok = true;
  if (cmd == kGet) {
    char found;
    ok = readAll(fd_, &found, 1) && readBlob(fd_, reply);
    if (ok && !found) throw std::runtime_error("TCPStore: no key '" + key + "'");
  } else if (cmd == kAdd) {
    ok = readBlob(fd_, reply);
  } else if (cmd == kCheck) {
    reply.resize(1);
    ok = readAll(fd_, reply.data(), 1);
  }
  if (!ok) throw std::runtime_error("TCPStore: lost the connection to the store at " + where_ + " (did rank 0 exit?)");
  return reply;
}

void TcpStore::set(const std::string& key, const Bytes& data) { request(kSet, key, data); }
Bytes TcpStore::getNow(const std::string& key) { return request(kGet, key, {}); }
int64_t TcpStore::add(const std::string& key, int64_t delta) { return decodeI64(request(kAdd, key, encodeI64(delta))); }
bool TcpStore::check(const std::string& key) { return request(kCheck, key, {})[0] != 0; }

// ---- FileStore ---------------------------------------------------------------

FileStore::FileStore(const std::string& dir, Millis timeout) : KvStore(timeout), dir_(dir) {
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
    throw std::runtime_error(errnoText(("FileStore: mkdir " + dir).c_str()));
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    throw std::runtime_error("FileStore: '" + dir + "' exists and is not a directory");
  }
}

std::string FileStore::pathOf(const std::string& key) const {
  // Hex keeps any key a valid file name.
  static const char* digits = "0123456789abcdef";
  std::string name;
  for (unsigned char c : key) {
    name += digits[c >> 4];
    name += digits[c & 15];
  }
  return dir_ + "/k" + name;
}

void FileStore::set(const std::string& key, const Bytes& data) {
  std::string path = pathOf(key);
  std::string tmp = path + ".tmp" + std::to_string(::getpid()) + "_" +
                    std::to_string(std::hash<std::thread::id>()(std::this_thread::get_id()));
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(data.data(), static_cast<std::streamsize>(data.size()));
    if (!out) throw std::runtime_error("FileStore: cannot write " + tmp);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) throw std::runtime_error(errnoText("FileStore: rename"));
}

bool FileStore::check(const std::string& key) { return ::access(pathOf(key).c_str(), F_OK) == 0; }

Bytes FileStore::getNow(const std::string& key) {
  std::ifstream in(pathOf(key), std::ios::binary);
  if (!in) throw std::runtime_error("FileStore: no key '" + key + "'");
  return Bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

int64_t FileStore::add(const std::string& key, int64_t delta) {
  std::string lockPath = dir_ + "/lock";
  int fd = ::open(lockPath.c_str(), O_CREAT | O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0) throw std::runtime_error(errnoText("FileStore: open lock"));
  ::flock(fd, LOCK_EX);
  int64_t now = 0;
  try {
    now = (check(key) ? decodeI64(getNow(key)) : 0) + delta;
    set(key, encodeI64(now));
  } catch (...) {
    ::flock(fd, LOCK_UN);
    ::close(fd);
    throw;
  }
  ::flock(fd, LOCK_UN);
  ::close(fd);
  return now;
}

}  // namespace kd_dist
