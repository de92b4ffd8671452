import GovernanceCore

#if canImport(Glibc)
    import Glibc
#endif

exit(SenderCommand.main())
