import GovernanceCore

#if canImport(Glibc)
    import Glibc
#endif

exit(RgovCommand.main())
