// The key-value stores of torch.distributed's rendezvous (PyTorch's
// TCPStore and FileStore): ranks publish their addresses under keys and
// wait for each other's. Gloo's connectFullMesh takes a
// gloo::rendezvous::Store, so both stores subclass it, and the JS API
// (TCPStore/FileStore in lib/distributed/store.ts) calls the same objects.
#pragma once

#include <gloo/rendezvous/store.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace kd_dist {

using Bytes = std::vector<char>;
using Millis = std::chrono::milliseconds;

// The operations every store has beyond Gloo's set/get/wait: an atomic
// counter (add) and a non-blocking test (check). wait() gives up after
// the store's timeout with an error naming the first missing key, so a
// rank that never comes is reported, not waited for forever.
class KvStore : public gloo::rendezvous::Store {
 public:
  explicit KvStore(Millis timeout) : timeout_(timeout) {}
  virtual int64_t add(const std::string& key, int64_t delta) = 0;
  virtual bool check(const std::string& key) = 0;
  // Gloo's get waits for the key first, as PyTorch's stores do.
  Bytes get(const std::string& key) override;
  void wait(const std::vector<std::string>& keys) override { wait(keys, timeout_); }
  void wait(const std::vector<std::string>& keys, const Millis& timeout) override;
  Millis timeout() const { return timeout_; }
  // What to say about a missing key: rendezvous keys name their rank.
  static std::string describeKey(const std::string& key);
  // The value now; throws when the key is not set.
  virtual Bytes getNow(const std::string& key) = 0;

 protected:
  Millis timeout_;
};

// Rank 0's server: one thread accepts connections and one thread per
// connection answers requests against a map under a mutex. Requests are
// small (addresses, counters), so the simple blocking design is enough.
class TcpStoreServer {
 public:
  TcpStoreServer(const std::string& host, int port);
  ~TcpStoreServer();
  int port() const { return port_; }
  void stop();

 private:
  void acceptLoop();
  void serve(int fd);
  int listenFd_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::mutex mu_;  // guards data_, clients_, threads_
  std::map<std::string, Bytes> data_;
  std::vector<int> clients_;
  std::vector<std::thread> threads_;
  std::thread acceptThread_;
};

// A client of a TcpStoreServer; on the master rank it also owns the server.
class TcpStore : public KvStore {
 public:
  TcpStore(const std::string& host, int port, bool isMaster, Millis timeout);
  ~TcpStore() override;
  void set(const std::string& key, const Bytes& data) override;
  int64_t add(const std::string& key, int64_t delta) override;
  bool check(const std::string& key) override;
  void close();
  Bytes getNow(const std::string& key) override;
  // The port the store is at (the master's own, when it was given 0).
  int port() const { return port_; }

 private:
  int port_ = 0;
  Bytes request(uint8_t cmd, const std::string& key, const Bytes& value);
  std::unique_ptr<TcpStoreServer> server_;
  std::mutex mu_;  // one request at a time on the socket
  int fd_ = -1;
  std::string where_;
};

// A directory on a file system every rank sees (file:// init). Each key
// is a file written whole and renamed into place, so readers never see
// half a value; add() takes an flock on the directory's lock file.
class FileStore : public KvStore {
 public:
  FileStore(const std::string& dir, Millis timeout);
  void set(const std::string& key, const Bytes& data) override;
  int64_t add(const std::string& key, int64_t delta) override;
  bool check(const std::string& key) override;
  Bytes getNow(const std::string& key) override;

 private:
  std::string pathOf(const std::string& key) const;
  std::string dir_;
};

// Keys under a prefix (one process group's keys among others').
class PrefixStore : public KvStore {
 public:
  PrefixStore(std::string prefix, std::shared_ptr<KvStore> base)
      : KvStore(base->timeout()), prefix_(std::move(prefix)), base_(std::move(base)) {}
  void set(const std::string& key, const Bytes& data) override { base_->set(prefix_ + key, data); }
  int64_t add(const std::string& key, int64_t delta) override { return base_->add(prefix_ + key, delta); }
  bool check(const std::string& key) override { return base_->check(prefix_ + key); }
  Bytes getNow(const std::string& key) override { return base_->getNow(prefix_ + key); }

 private:
  std::string prefix_;
  std::shared_ptr<KvStore> base_;
};

}  // namespace kd_dist
