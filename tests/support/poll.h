// Polling until a condition holds, with a time limit: the one way tests wait
// for something another thread or process does.
#ifndef PORTCULLIS_TESTS_SUPPORT_POLL_H_
#define PORTCULLIS_TESTS_SUPPORT_POLL_H_

#include <chrono>
#include <functional>

namespace portcullis::testing {

// Calls `done` every `interval` until it returns true or `limit` has passed;
// returns its last answer (asked once more after the limit).
bool WaitUntil(const std::function<bool()>& done, std::chrono::milliseconds limit = std::chrono::seconds(15),
               std::chrono::milliseconds interval = std::chrono::milliseconds(50));

}  // namespace portcullis::testing

#endif  // PORTCULLIS_TESTS_SUPPORT_POLL_H_
