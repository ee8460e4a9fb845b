// more custom C++
double helper( double x ) { return 2.0 * x; }
