#include <string>

extern "C" int util_len(void) { return static_cast<int>(std::string("cached").size()); }
