// Intentionally empty: the target exists to export CFuzzerSupport.h to Swift.
