"""Development scripts, not shipped: the contract's generators (AsyncAPI, typed operations), Babel
over the catalogues, the codec fuzzer. (The reference central service is hall_central; the demo,
fleet and bench are hall_demo.)"""
